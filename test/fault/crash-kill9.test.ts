// kill -9 in a loop under a writer, for the file engine and for LMDB: after every restart each acknowledged
// transaction is present, the rows form a prefix of the commit sequence (no holes, diffs applied), and the
// real `ovsdb-tool show-log` reads the file. The writer is bundled once with esbuild so a round starts fast.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSync } from 'esbuild';
import { FileStorage } from '../../storage/file.ts';
import { LmdbStorage } from '../../storage/lmdb.ts';
import type { Database } from '../../storage/database.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ROUNDS = 50;
const SCHEMA = {
  name: 'Crash',
  version: '1.0.0',
  tables: {
    T: {
      columns: {
        n: { type: 'integer' },
        s: { type: 'string' },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
      },
      indexes: [['n']],
    },
  },
};

let dir: string;
let bundle: string;
const children = new Set<ChildProcess>();

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-ts-crash-'));
  bundle = path.join(dir, 'writer.cjs');
  buildSync({
    entryPoints: [path.join(ROOT, 'test/fault/crash-writer.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: bundle,
    external: ['lmdb', 'koffi'],
    logLevel: 'silent',
  });
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the writer until it has acknowledged a few commits and a random moment has passed; kills it. */
function round(engine: string, db: string, start: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, engine, db, String(start)], {
      env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let lastAck = -1;
    let buf = '';
    let stderr = '';
    let armed = false;
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l.startsWith('ack ')) lastAck = Number(l.slice(4));
      if (!armed && lines.includes('ready')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), 5 + Math.floor(Math.random() * 60));
      }
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited ${code}: ${stderr}`));
      else resolve(lastAck);
    });
  });
}

/** Checks the rows: n = 0..max with no holes, tags carry every later mutate. Returns the row count. */
function verify(db: Database, lastAck: number): number {
  const rows = [...db.table('T').rows.values()];
  const ns = rows.map((r) => Number(r.data[0].keys[0])).sort((a, b) => a - b);
  expect(ns.length).toBeGreaterThan(lastAck); // every acknowledged insert is there
  // A prefix of the commit sequence (empty when the kill came before the first commit).
  if (ns.length > 0) expect(ns[ns.length - 1]).toBe(ns.length - 1);
  const byN = new Map(rows.map((r) => [Number(r.data[0].keys[0]), r]));
  for (let k = 0; k + 1 < ns.length; k++) {
    expect(byN.get(k)!.data[2].keys).toContain(`after${k + 1}`);
  }
  return ns.length;
}

function realShowLog(file: string): void {
  const r = spawnSync('ovsdb-tool', ['show-log', file], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

describe.concurrent('kill -9 under a writer', () => {
  it(`file engine: ${ROUNDS} rounds`, async () => {
    const file = path.join(dir, 'crash.db');
    FileStorage.create(file, SCHEMA);
    let next = 0;
    let totalAcked = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const lastAck = await round('file', file, next);
      const warnings: string[] = [];
      const db = FileStorage.read(file, { onLog: (_l, m) => warnings.push(m) });
      next = verify(db, lastAck);
      if (lastAck >= 0) totalAcked = lastAck + 1;
      realShowLog(file);
    }
    expect(totalAcked).toBeGreaterThan(ROUNDS);
  }, 300_000); // ~10 s on an idle machine; process start-up dominates under load

  it(`LMDB engine: ${ROUNDS} rounds`, async () => {
    const file = path.join(dir, 'crash.mdb');
    LmdbStorage.create(file, SCHEMA);
    let next = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const lastAck = await round('lmdb', file, next);
      next = verify(LmdbStorage.read(file), lastAck);
    }
    expect(next).toBeGreaterThan(ROUNDS);
  }, 300_000); // ~10 s on an idle machine; process start-up dominates under load
});
