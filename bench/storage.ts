// Storage benchmark: the standard file engine vs LMDB vs the real ovsdb-server.
//   npx tsx bench/storage.ts [--quick] [--json FILE]
// 1. Engine level (in-process, execute + storage write + apply): N small updates (1M; 100k with --quick) to
//    1000 rows, one commit each → commits/s, size on disk, and restart time (open: file replay vs LMDB read).
// 2. Compaction pause of the file engine with 100k rows (one synchronous compact()).
// 3. Server level: restart time (spawn → first `list_dbs` reply) on the same data for the real ovsdb-server
//    (standard file), bin/ovsdb-server (file) and bin/ovsdb-server --storage=lmdb; and sequential `transact`
//    round trips per second over a unix socket.
// Prints a markdown table; the bench harness calls this file as is.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RpcClient } from './lib/jsonrpc.ts';
import type { JsonValue } from '../schema/json.ts';
import type { Database } from '../storage/database.ts';
import { execute } from '../storage/execution.ts';
import { FileStorage } from '../storage/file.ts';
import { LmdbStorage } from '../storage/lmdb.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : null;
const N = quick ? 100_000 : 1_000_000;
const ROWS = 1000;
const COMPACT_ROWS = 100_000;
const RPC_N = quick ? 1000 : 5000;

const SCHEMA = {
  name: 'Bench',
  version: '1.0.0',
  tables: { T: { columns: { k: { type: 'integer' }, v: { type: 'integer' }, name: { type: 'string' } } } },
};

interface Storage {
  write(commit: NonNullable<Extract<ReturnType<typeof execute>, { kind: 'done' }>['commit']>, txnId?: string): void;
  close(): void;
}

function commit(db: Database, storage: Storage, ops: JsonValue[]): void {
  const out = execute(db, ops);
  if (out.kind !== 'done' || out.commit === null) throw new Error(`transaction failed: ${JSON.stringify(out)}`);
  storage.write(out.commit);
  db.apply(out.commit);
}

function fill(db: Database, storage: Storage, rows: number, batch = 1000): string[] {
  const uuids: string[] = [];
  for (let i = 0; i < rows; i += batch) {
    const ops: JsonValue[] = [];
    for (let j = i; j < Math.min(rows, i + batch); j++) ops.push({ op: 'insert', table: 'T', row: { k: j, v: 0, name: `row-${j}` } });
    const out = execute(db, ops);
    if (out.kind !== 'done' || out.commit === null) throw new Error('fill failed');
    storage.write(out.commit);
    db.apply(out.commit);
    for (const r of out.result) uuids.push(((r as { uuid: [string, string] }).uuid)[1]);
  }
  return uuids;
}

function updates(db: Database, storage: Storage, uuids: string[], n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    commit(db, storage, [{ op: 'update', table: 'T', where: [['_uuid', '==', ['uuid', uuids[i % uuids.length]]]], row: { v: i + 1 } }]);
  }
  return performance.now() - t0;
}

function fileSize(p: string): number {
  return fs.statSync(p).size;
}

const ms = (x: number) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;
const mib = (x: number) => `${(x / 1048576).toFixed(1)} MiB`;
const rate = (n: number, msTotal: number) => `${Math.round((n / msTotal) * 1000).toLocaleString('en-US')}/s`;

async function waitListDbs(sock: string, child: ChildProcess, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const c = await RpcClient.connect(`unix:${sock}`, 1000);
      await c.request('list_dbs', []);
      await c.close();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error('server did not come up');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

interface ServerRun {
  restartMs: number;
  rpcPerSec: number | null;
}

/** Starts a server on `db`, measures spawn → list_dbs, then sequential transact round trips; stops it. */
async function serverRun(cmd: string, args: string[], db: string, dir: string, rpcN: number): Promise<ServerRun> {
  const sock = path.join(dir, `s-${path.basename(cmd)}-${Date.now()}.sock`);
  const t0 = performance.now();
  const child = spawn(cmd, [db, `--remote=punix:${sock}`, `--unixctl=${sock}.ctl`, '--no-chdir', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitListDbs(sock, child);
    const restartMs = performance.now() - t0;
    const c = await RpcClient.connect(`unix:${sock}`);
    const t1 = performance.now();
    for (let i = 0; i < rpcN; i++) {
      await c.request('transact', ['Bench', { op: 'update', table: 'T', where: [['k', '==', i % ROWS]], row: { v: -i } }]);
    }
    const rpcMs = performance.now() - t1;
    await c.close();
    return { restartMs, rpcPerSec: (rpcN / rpcMs) * 1000 };
  } catch (e) {
    throw new Error(`${cmd}: ${(e as Error).message}\n${stderr.slice(-2000)}`);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-ts-bench-storage-'));
  const results: Record<string, unknown> = { n: N, rows: ROWS, rpcN: RPC_N };
  try {
    // --- engine level: file ---
    const file = path.join(dir, 'bench.db');
    FileStorage.create(file, SCHEMA);
    let o = FileStorage.open(file);
    let uuids = fill(o.db, o.storage, ROWS);
    const fileMs = updates(o.db, o.storage, uuids, N);
    o.storage.close();
    const fileBytes = fileSize(file);
    let t = performance.now();
    o = FileStorage.open(file);
    const fileRestart = performance.now() - t;
    o.storage.close();

    // --- engine level: LMDB ---
    const lmdb = path.join(dir, 'bench.mdb');
    LmdbStorage.create(lmdb, SCHEMA);
    let l = LmdbStorage.open(lmdb);
    uuids = fill(l.db, l.storage, ROWS);
    const lmdbMs = updates(l.db, l.storage, uuids, N);
    l.storage.close();
    const lmdbBytes = fileSize(lmdb);
    t = performance.now();
    l = LmdbStorage.open(lmdb);
    const lmdbRestart = performance.now() - t;
    l.storage.close();

    // --- compaction pause at 100k rows ---
    const cfile = path.join(dir, 'compact.db');
    FileStorage.create(cfile, SCHEMA);
    const c = FileStorage.open(cfile);
    fill(c.db, c.storage, COMPACT_ROWS);
    t = performance.now();
    c.storage.compact(c.db);
    const compactPause = performance.now() - t;
    const compactBytes = fileSize(cfile);
    c.storage.close();

    // --- server level ---
    const server = path.join(ROOT, 'bin/ovsdb-server');
    const runs: Record<string, ServerRun | string> = {};
    const tryRun = async (name: string, cmd: string, args: string[], db: string) => {
      try {
        runs[name] = await serverRun(cmd, args, db, dir, RPC_N);
      } catch (e) {
        runs[name] = (e as Error).message.split('\n')[0];
      }
    };
    const refCopy = path.join(dir, 'ref.db');
    fs.copyFileSync(file, refCopy);
    await tryRun('real ovsdb-server (file)', '/usr/sbin/ovsdb-server', [], refCopy);
    await tryRun('bin/ovsdb-server (file)', server, [], file);
    await tryRun('bin/ovsdb-server --storage=lmdb', server, ['--storage=lmdb'], lmdb);

    Object.assign(results, {
      engine: {
        file: { commitsPerSec: (N / fileMs) * 1000, bytes: fileBytes, restartMs: fileRestart },
        lmdb: { commitsPerSec: (N / lmdbMs) * 1000, bytes: lmdbBytes, restartMs: lmdbRestart },
      },
      compaction: { rows: COMPACT_ROWS, pauseMs: compactPause, bytes: compactBytes },
      servers: runs,
    });

    const lines = [
      `### Storage: ${N.toLocaleString('en-US')} small updates to ${ROWS} rows (one commit each)`,
      '',
      '| engine | commits/s (in-process) | size on disk | restart (open) |',
      '|---|---|---|---|',
      `| file (standard OVSDB log) | ${rate(N, fileMs)} | ${mib(fileBytes)} | ${ms(fileRestart)} |`,
      `| LMDB | ${rate(N, lmdbMs)} | ${mib(lmdbBytes)} | ${ms(lmdbRestart)} |`,
      '',
      `File-engine compaction pause at ${COMPACT_ROWS.toLocaleString('en-US')} rows: ${ms(compactPause)} (compacted file ${mib(compactBytes)}).`,
      '',
      `| server on the same data | restart (spawn → list_dbs) | sequential transact round trips (${RPC_N}) |`,
      '|---|---|---|',
      ...Object.entries(runs).map(([name, r]) =>
        typeof r === 'string' ? `| ${name} | n/a (${r}) | n/a |` : `| ${name} | ${ms(r.restartMs)} | ${r.rpcPerSec === null ? 'n/a' : `${Math.round(r.rpcPerSec)}/s`} |`,
      ),
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(results, null, 2));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/storage: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
