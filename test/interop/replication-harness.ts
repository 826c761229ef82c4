// Test harness for replication: start ovsdb-ts (bin/ovsdb-server) and the reference /usr/sbin/ovsdb-server on
// unix sockets in a temp dir, drive them with the real ovs-appctl / ovsdb-client, and stop everything.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { JsonRpcClient, JsonRpcRemoteError } from '../../server/jsonrpc.ts';
import type { JsonValue } from '../../schema/json.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TS_SERVER = path.join(ROOT, 'bin/ovsdb-server');
export const C_SERVER = '/usr/sbin/ovsdb-server';

export type Kind = 'ts' | 'c';

export const TEST_SCHEMA = {
  name: 'Test',
  version: '1.0.0',
  tables: {
    Root: {
      columns: {
        name: { type: 'string' },
        n: { type: 'integer' },
        kids: { type: { key: { type: 'uuid', refTable: 'Child' }, min: 0, max: 'unlimited' } },
        tags: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
      isRoot: true,
      indexes: [['name']],
    },
    Child: { columns: { v: { type: 'integer' } } },
    Limited: { columns: { x: { type: 'integer' } }, isRoot: true },
  },
};

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class ServerProc {
  exited = false;
  constructor(
    readonly name: string,
    readonly kind: Kind,
    readonly child: ChildProcess,
    readonly dir: string,
  ) {
    child.on('exit', () => (this.exited = true));
  }
  get sock(): string {
    return path.join(this.dir, `${this.name}.sock`);
  }
  get remote(): string {
    return `unix:${this.sock}`;
  }
  get ctl(): string {
    return path.join(this.dir, `${this.name}.ctl`);
  }
  get logFile(): string {
    return path.join(this.dir, `${this.name}.log`);
  }
  log(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
  appctl(...args: string[]): Outcome {
    const r = spawnSync('ovs-appctl', ['--timeout=20', '-t', this.ctl, ...args], { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill(signal);
    await done;
  }
}

export class Lab {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-repl-'));
  readonly procs: ServerProc[] = [];
  readonly schemaFile: string;

  constructor(schema: object = TEST_SCHEMA) {
    this.schemaFile = this.writeSchema('test.ovsschema', schema);
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  writeSchema(name: string, schema: object): string {
    const f = this.file(name);
    fs.writeFileSync(f, JSON.stringify(schema));
    return f;
  }

  /** A fresh database file made by the real ovsdb-tool. */
  createDb(name: string, schemaFile = this.schemaFile): string {
    const f = this.file(name);
    const r = spawnSync('ovsdb-tool', ['create', f, schemaFile], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ovsdb-tool create failed: ${r.stderr}`);
    return f;
  }

  /** Start a server in the foreground; resolves once its JSON-RPC and control sockets accept connections. */
  async start(kind: Kind, name: string, dbs: string[], extra: string[] = []): Promise<ServerProc> {
    for (const f of [`${name}.sock`, `${name}.ctl`]) fs.rmSync(this.file(f), { force: true });
    const args = [`--remote=punix:${this.file(`${name}.sock`)}`, `--unixctl=${this.file(`${name}.ctl`)}`, `--log-file=${this.file(`${name}.log`)}`, '-vconsole:off', ...extra, ...dbs];
    const child = spawn(kind === 'ts' ? TS_SERVER : C_SERVER, args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const p = new ServerProc(name, kind, child, this.dir);
    this.procs.push(p);
    await waitFor(async () => {
      if (p.exited) throw new Error(`${name} exited: ${stderr}`);
      return (await canConnect(p.sock)) && (await canConnect(p.ctl));
    }, `${name} to listen`);
    return p;
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) {
      if (!p.exited) {
        try {
          p.child.kill('SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await Promise.all(this.procs.map((p) => (p.exited ? null : new Promise((r) => p.child.once('exit', r)))));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path: p });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Poll `cond` until it returns a truthy value (no fixed sleeps in the tests). */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
      if ((e as Error).message.includes('exited')) throw e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function client(...args: string[]): Outcome {
  const r = spawnSync('ovsdb-client', ['--timeout=20', ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `ovsdb-client dump` text of a server's database (the real client, sorted rows). */
export function dump(p: ServerProc, db = 'Test'): string {
  const r = client('dump', p.remote, db);
  if (r.code !== 0) throw new Error(`dump failed: ${r.stderr}`);
  return r.stdout;
}

export function transact(p: ServerProc, ...ops: object[]): unknown[] {
  const r = client('transact', p.remote, JSON.stringify(['Test', ...ops]));
  if (r.code !== 0) throw new Error(`transact failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown[];
}

/** Row count of a table, with the real ovsdb-client. */
export function count(p: ServerProc, table: string, db = 'Test'): number {
  const r = client('transact', p.remote, JSON.stringify([db, { op: 'select', table, where: [], columns: ['_uuid'] }]));
  if (r.code !== 0) throw new Error(`select failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { rows: unknown[] }[])[0].rows.length;
}

export const syncStatusHead = (p: ServerProc): string => {
  const out = p.appctl('ovsdb-server/sync-status').stdout;
  return out;
};

/** The reference's part of sync-status (our extra lines start after the `database:`/`exclude:` lines). */
export function referenceStatus(text: string): string {
  const keep = /^(state|replicating|connecting|database|exclude|not connected to|Replication to)\b/;
  return text
    .split('\n')
    .filter((l) => keep.test(l))
    .map((l) => `${l}\n`)
    .join('');
}

/** One raw JSON-RPC request; resolves with the reply's result or error member. */
export async function rpc(p: ServerProc, method: string, params: JsonValue[]): Promise<{ result?: JsonValue; error?: JsonValue }> {
  const c = await JsonRpcClient.connect(p.remote);
  try {
    return { result: await c.request(method, params) };
  } catch (e) {
    if (e instanceof JsonRpcRemoteError) return { error: e.error };
    throw e;
  } finally {
    c.close();
  }
}
