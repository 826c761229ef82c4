// Replication benchmark: ovsdb-ts and the reference ovsdb-server, each as the backup of the same active, in
// one run. Measures the initial sync of N rows, steady-state lag (commit on the active → visible to a
// monitor on the backup) p50/p99, and the resync after a 1 s disconnection. Prints a markdown table.
//
//   npx tsx bench/replication.ts [--quick] [--rows=N] [--active=ts|c] [--lag-samples=N]
//
// The backup reaches the active through an in-process unix-socket proxy, so a "disconnection" is the same
// for both: every proxied connection is cut, and for 1 s new connections are accepted but held; then they
// are forwarded. The resync time runs from the end of that second until the backup's monitor client sees
// the last row written during it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { JsonRpcClient } from '../server/jsonrpc.ts';
import type { JsonValue } from '../schema/json.ts';
import { canConnect, sleep, waitFor } from './lib/wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BINARIES = { ts: path.join(ROOT, 'bin/ovsdb-server'), c: '/usr/sbin/ovsdb-server' } as const;
type Kind = keyof typeof BINARIES;
const LABEL: Record<Kind, string> = { ts: 'ovsdb-ts', c: 'reference ovsdb-server' };

const SCHEMA = {
  name: 'Bench',
  version: '1.0.0',
  tables: {
    Item: {
      columns: { name: { type: 'string' }, n: { type: 'integer' }, payload: { type: 'string' } },
      isRoot: true,
      indexes: [['name']],
    },
  },
};

function arg(name: string): string | undefined {
  const a = process.argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : '';
}

const quick = arg('quick') !== undefined;
const ROWS = Number(arg('rows') ?? (quick ? 20_000 : 100_000));
const LAG_SAMPLES = Number(arg('lag-samples') ?? (quick ? 200 : 1000));
const ACTIVE: Kind = arg('active') === 'c' ? 'c' : 'ts';
const BLIP_MS = 1000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-repl-bench-'));
const children = new Set<ChildProcess>();
function cleanup(): void {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

interface Server {
  name: string;
  sock: string;
  ctl: string;
  child: ChildProcess;
}

async function startServer(kind: Kind, name: string, extra: string[] = []): Promise<Server> {
  const db = path.join(dir, `${name}.db`);
  const schema = path.join(dir, 'bench.ovsschema');
  if (!fs.existsSync(schema)) fs.writeFileSync(schema, JSON.stringify(SCHEMA));
  const r = spawnSync('ovsdb-tool', ['create', db, schema], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const sock = path.join(dir, `${name}.sock`);
  const ctl = path.join(dir, `${name}.ctl`);
  const child = spawn(BINARIES[kind], [`--remote=punix:${sock}`, `--unixctl=${ctl}`, `--log-file=${path.join(dir, `${name}.log`)}`, '-vconsole:off', ...extra, db], {
    stdio: 'ignore',
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  await waitFor(async () => (await canConnect(sock)) && (await canConnect(ctl)), `${name} to start`, 60_000, 50);
  return { name, sock, ctl, child };
}

async function stopServer(s: Server): Promise<void> {
  if (!children.has(s.child)) return;
  const done = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await done;
}

function appctl(s: Server, ...args: string[]): string {
  return spawnSync('ovs-appctl', ['-t', s.ctl, ...args], { encoding: 'utf8' }).stdout;
}

/** A unix-socket proxy to the active that can be cut for a while. */
class Proxy {
  readonly path = path.join(dir, 'proxy.sock');
  private readonly server: net.Server;
  private pairs = new Set<[net.Socket, net.Socket]>();
  private held: net.Socket[] = [];
  private holding = false;

  constructor(private readonly upstream: string) {
    this.server = net.createServer({ pauseOnConnect: true }, (c) => {
      if (this.holding) this.held.push(c);
      else this.forward(c);
    });
  }

  listen(): Promise<void> {
    return new Promise((r) => this.server.listen(this.path, r));
  }

  private forward(c: net.Socket): void {
    const u = net.connect({ path: this.upstream });
    const pair: [net.Socket, net.Socket] = [c, u];
    this.pairs.add(pair);
    const end = () => {
      c.destroy();
      u.destroy();
      this.pairs.delete(pair);
    };
    c.on('error', end).on('close', end);
    u.on('error', end).on('close', end);
    c.pipe(u);
    u.pipe(c);
    c.resume();
  }

  /** Drops every connection and holds new ones for `ms`; resolves when they are let through. */
  async cut(ms: number): Promise<void> {
    this.holding = true;
    for (const [c, u] of this.pairs) {
      c.destroy();
      u.destroy();
    }
    this.pairs.clear();
    await sleep(ms);
    this.holding = false;
    for (const c of this.held.splice(0)) this.forward(c);
  }

  close(): void {
    for (const [c, u] of this.pairs) (c.destroy(), u.destroy());
    for (const c of this.held) c.destroy();
    this.server.close();
  }
}

/** A monitor on the backup's Item table: the set of names it holds and when each was first seen. */
class Watcher {
  readonly names = new Set<string>();
  readonly seenAt = new Map<string, number>();
  private constructor(readonly client: JsonRpcClient) {}

  static async open(s: Server): Promise<Watcher> {
    const c = await JsonRpcClient.connect(`unix:${s.sock}`);
    const w = new Watcher(c);
    c.on('notification', (method, params) => {
      if (method === 'update') w.apply(params[1]);
    });
    w.apply(await c.request('monitor', ['Bench', 'w', { Item: { columns: ['name'] } }]));
    return w;
  }

  private apply(updates: JsonValue): void {
    const now = performance.now();
    const rows = (updates as { Item?: Record<string, { old?: { name: string }; new?: { name: string } }> }).Item ?? {};
    for (const ru of Object.values(rows)) {
      if (ru.old && !ru.new) this.names.delete(ru.old.name);
      if (ru.new) {
        this.names.add(ru.new.name);
        if (!this.seenAt.has(ru.new.name)) this.seenAt.set(ru.new.name, now);
      }
    }
  }
}

function insert(name: string, n: number): JsonValue {
  return { op: 'insert', table: 'Item', row: { name, n, payload: `payload-${name}-${'x'.repeat(32)}` } };
}

async function populate(active: JsonRpcClient): Promise<void> {
  const BATCH = 5000;
  for (let i = 0; i < ROWS; i += BATCH) {
    const ops: JsonValue[] = [];
    for (let j = i; j < Math.min(ROWS, i + BATCH); j++) ops.push(insert(`row${j}`, j));
    await active.request('transact', ['Bench', ...ops]);
  }
}

const WARM_TXNS = quick ? 1000 : 5000;

/** Inserts and deletes a row WARM_TXNS times (the row count the backups sync stays ROWS). */
async function warmActive(active: JsonRpcClient): Promise<void> {
  for (let i = 0; i < WARM_TXNS; i++) {
    const r = (await active.request('transact', ['Bench', insert(`warm-${i}`, i)])) as { uuid: [string, string] }[];
    await active.request('transact', ['Bench', { op: 'delete', table: 'Item', where: [['_uuid', '==', r[0]!.uuid]] }]);
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

interface Result {
  initialSyncMs: number;
  lagP50: number;
  lagP99: number;
  resyncMs: number;
  resyncMode: string;
}

async function measure(kind: Kind, active: Server, activeClient: JsonRpcClient, round: number): Promise<Result> {
  const proxy = new Proxy(active.sock);
  await proxy.listen();
  const backup = await startServer(kind, `backup-${kind}`, [`--sync-from=unix:${proxy.path}`, '--active']);
  const watcher = await Watcher.open(backup);
  const total = ((await activeClient.request('transact', ['Bench', { op: 'select', table: 'Item', where: [], columns: ['_uuid'] }])) as { rows: unknown[] }[])[0].rows.length;
  const replicating = () => /\nreplicating: /.test(appctl(backup, 'ovsdb-server/sync-status'));

  // 1. Initial sync.
  let t0 = performance.now();
  appctl(backup, 'ovsdb-server/connect-active-ovsdb-server');
  await waitFor(() => watcher.names.size === total && replicating(), 'initial sync');
  const initialSyncMs = performance.now() - t0;

  // 2. Steady-state lag, one transaction at a time.
  const lags: number[] = [];
  for (let i = 0; i < LAG_SAMPLES; i++) {
    const name = `lag-${round}-${i}`;
    const sent = performance.now();
    await activeClient.request('transact', ['Bench', insert(name, i)]);
    await waitFor(() => watcher.seenAt.has(name), 'replicated row', 30_000, 0);
    lags.push(watcher.seenAt.get(name)! - sent);
  }

  // 3. Resync after a 1 s disconnection, with writes on the active meanwhile.
  const cut = proxy.cut(BLIP_MS);
  const last = `blip-${round}-last`;
  for (let i = 0; i < 20; i++) {
    await activeClient.request('transact', ['Bench', insert(i === 19 ? last : `blip-${round}-${i}`, i)]);
    await sleep(BLIP_MS / 40);
  }
  await cut;
  t0 = performance.now();
  await waitFor(() => watcher.seenAt.has(last) && watcher.seenAt.get(last)! >= t0, 'resync');
  const resyncMs = watcher.seenAt.get(last)! - t0;
  await waitFor(replicating, 'replicating after resync');
  const status = appctl(backup, 'ovsdb-server/sync-status');
  const mode = /last initial sync: (\w+)/.exec(status)?.[1] ?? 'full (reference)';

  watcher.client.close();
  await stopServer(backup);
  proxy.close();
  return { initialSyncMs, lagP50: percentile(lags, 50), lagP99: percentile(lags, 99), resyncMs, resyncMode: mode };
}

async function main(): Promise<void> {
  const active = await startServer(ACTIVE, 'active');
  const activeClient = await JsonRpcClient.connect(`unix:${active.sock}`);
  process.stderr.write(`populating the ${LABEL[ACTIVE]} active with ${ROWS} rows...\n`);
  await populate(activeClient);
  // The backups are measured one after the other against the same active: warm the active first, so the
  // first one measured does not also pay for the active's warm-up (its commit time is part of the lag).
  process.stderr.write(`warming the active with ${2 * WARM_TXNS} transactions...\n`);
  await warmActive(activeClient);
  const results: Partial<Record<Kind, Result>> = {};
  let round = 0;
  for (const kind of ['ts', 'c'] as Kind[]) {
    process.stderr.write(`measuring ${LABEL[kind]} as backup...\n`);
    results[kind] = await measure(kind, active, activeClient, round++);
  }
  activeClient.close();
  await stopServer(active);

  const f = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
  const ts = results.ts!;
  const c = results.c!;
  const ratio = (a: number, b: number) => `${(b / a).toFixed(1)}×`;
  const lines = [
    `### Replication (${ROWS} rows, active: ${LABEL[ACTIVE]}, ${LAG_SAMPLES} lag samples, unix sockets)`,
    '',
    '| metric | ovsdb-ts backup | reference backup | reference / ovsdb-ts |',
    '|---|---:|---:|---:|',
    `| initial sync, ${ROWS} rows | ${f(ts.initialSyncMs)} | ${f(c.initialSyncMs)} | ${ratio(ts.initialSyncMs, c.initialSyncMs)} |`,
    `| steady-state lag p50 | ${f(ts.lagP50)} | ${f(c.lagP50)} | ${ratio(ts.lagP50, c.lagP50)} |`,
    `| steady-state lag p99 | ${f(ts.lagP99)} | ${f(c.lagP99)} | ${ratio(ts.lagP99, c.lagP99)} |`,
    `| resync after a 1 s disconnection | ${f(ts.resyncMs)} (${ts.resyncMode}) | ${f(c.resyncMs)} (full) | ${ratio(ts.resyncMs, c.resyncMs)} |`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench/replication: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
