// Relay benchmark: one source (the reference ovsdb-server, standalone OVN_Northbound), two relays of it —
// ovsdb-ts relays in one round, reference relays in the other, alternating over the repetitions — and
// ovn-controller-style clients on the relays. Prints a markdown table.
//
//   npx tsx bench/relay.ts [--quick] [--reps=N] [--rows=N] [--monitors=N] [--commits=N]
//
// Phases, per round:
//   sync      running relays get `ovsdb-server/add-db relay:…` for a source holding ROWS Logical_Switch_Ports
//             (ROWS/1000 switches); time until both serve them (schema from _Server, then the snapshot)
//   dump      initial contents of every Logical_Switch_Port column through `monitor_cond` on a fresh
//             connection to a relay, to the last byte of the reply
//   fan-out   MONITORS conditional monitors on each relay (each its own condition, so each is a distinct
//             monitor shape: `name == <own>` or `name != ""`, i.e. every row), split over the generator
//             worker threads; one writer commits COMMITS sequential 1-row inserts on the source, each
//             stamped with its send time. Measured: time until every monitor has every row, delivery
//             latency p50/p99 (source commit → relay → client), the relays' CPU.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { RpcClient } from './lib/jsonrpc.ts';
import { insertSwitch, NB_DB, switchWithPorts } from './lib/ovn.ts';
import { nowAbs } from './lib/clock.ts';
import { GeneratorPool } from './lib/workers.ts';
import { percentiles, SampleList, summarize } from './lib/stats.ts';
import { processTree, treeCpuMs } from './lib/proc.ts';
import { canConnect, sleep, waitFor } from './lib/wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BINARIES = { ts: path.join(ROOT, 'bin/ovsdb-server'), c: '/usr/sbin/ovsdb-server' } as const;
type Kind = keyof typeof BINARIES;
const LABEL: Record<Kind, string> = { ts: 'ovsdb-ts relays', c: 'reference relays' };
const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';

function arg(name: string): string | undefined {
  const a = process.argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : '';
}

const quick = arg('quick') !== undefined;
const REPS = Number(arg('reps') ?? 3);
const ROWS = Number(arg('rows') ?? (quick ? 10_000 : 100_000));
const MONITORS = Number(arg('monitors') ?? (quick ? 100 : 500));
const COMMITS = Number(arg('commits') ?? (quick ? 200 : 1000));
const RELAYS = 2;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-relay-bench-'));
const children = new Set<ChildProcess>();
function cleanup(): void {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

interface Server {
  name: string;
  endpoint: string;
  ctl: string;
  child: ChildProcess;
}

async function startServer(kind: Kind, name: string, dbArg: string): Promise<Server> {
  const sock = path.join(dir, `${name}.sock`);
  const ctl = path.join(dir, `${name}.ctl`);
  for (const f of [sock, ctl]) fs.rmSync(f, { force: true });
  const args = [`--remote=punix:${sock}`, `--unixctl=${ctl}`, `--log-file=${path.join(dir, `${name}.log`)}`, '-vconsole:off', dbArg];
  // RELAY_BENCH_CPU_PROF=DIR: V8 CPU profiles of our relays, written when they exit.
  const prof = process.env.RELAY_BENCH_CPU_PROF;
  const child =
    kind === 'ts' && prof && !dbArg.endsWith('.db')
      ? spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${prof}`, path.join(ROOT, 'dist/ovsdb-server.mjs'), ...args], { stdio: 'ignore' })
      : spawn(BINARIES[kind], args, { stdio: 'ignore' });
  // (dbArg '--no-dbs' for relays started empty: their database comes with ovsdb-server/add-db.)
  children.add(child);
  child.on('exit', () => children.delete(child));
  await waitFor(async () => (await canConnect(sock)) && (await canConnect(ctl)), `${name} to start`, 60_000, 20);
  return { name, endpoint: `unix:${sock}`, ctl, child };
}

async function stopServer(s: Server): Promise<void> {
  if (!children.has(s.child)) return;
  const done = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await done;
}

async function count(endpoint: string, table: string): Promise<number> {
  let c: RpcClient;
  try {
    c = await RpcClient.connect(endpoint);
  } catch {
    return -1;
  }
  try {
    const r = (await c.request('transact', [NB_DB, { op: 'select', table, where: [], columns: ['_uuid'] }])) as { rows?: unknown[] }[];
    return r[0]?.rows?.length ?? -1;
  } catch {
    return -1; // not available yet
  } finally {
    await c.close();
  }
}

interface Round {
  syncMs: number;
  dumpMs: number;
  fanoutMs: number;
  p50: number;
  p99: number;
  relayCpuMs: number;
}

async function round(kind: Kind, rep: number, pool: GeneratorPool): Promise<Round> {
  const db = path.join(dir, `src-${kind}-${rep}.db`);
  const r = spawnSync('ovsdb-tool', ['create', db, NB_SCHEMA], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const source = await startServer('c', `src-${kind}-${rep}`, db);
  const writer = await RpcClient.connect(source.endpoint);
  const switches = Math.ceil(ROWS / 1000);
  for (let i = 0; i < switches; i++) await writer.transact(NB_DB, switchWithPorts(`sw-${i}`, i * 1000, Math.min(1000, ROWS - i * 1000)));

  // sync: the relays are already running (no databases); the clock starts at add-db.
  const relays: Server[] = [];
  for (let i = 0; i < RELAYS; i++) relays.push(await startServer(kind, `relay-${kind}-${rep}-${i}`, '--no-dbs'));
  let t0 = performance.now();
  for (const relay of relays) {
    const a = spawnSync('ovs-appctl', ['-t', relay.ctl, 'ovsdb-server/add-db', `relay:${NB_DB}:${source.endpoint}`], { encoding: 'utf8' });
    if (a.status !== 0) throw new Error(`add-db: ${a.stderr}`);
  }
  for (const relay of relays) await waitFor(async () => (await count(relay.endpoint, 'Logical_Switch_Port')) === ROWS, 'relay sync', 600_000, 2);
  const syncMs = performance.now() - t0;

  // dump
  const c = await RpcClient.connect(relays[0].endpoint);
  t0 = performance.now();
  const text = await c.requestRaw('monitor_cond', [NB_DB, 'dump', { Logical_Switch_Port: [{}] }]);
  const dumpMs = performance.now() - t0;
  await c.close();
  const rows = Object.keys((JSON.parse(text) as { result: { Logical_Switch_Port: object } }).result.Logical_Switch_Port).length;
  if (rows !== ROWS) throw new Error(`dump: ${rows} rows, expected ${ROWS}`);

  // fan-out: worker i serves relay i % RELAYS
  const prefix = `fan-${kind}-${rep}-`;
  const w = pool.size;
  const perWorker = new Array<number>(w).fill(0);
  for (let k = 0; k < RELAYS * MONITORS; k++) perWorker[k % w]++;
  let base = 0;
  const specs = perWorker.map((n, i) => {
    const spec = {
      type: 'subscribe' as const,
      taskId: 0,
      endpoint: relays[i % RELAYS].endpoint,
      db: NB_DB,
      clients: n,
      method: 'monitor_cond' as const,
      expected: COMMITS,
      prefix,
      distinct: { clientBase: base },
    };
    base += n;
    return n === 0 ? null : spec;
  });
  const task = pool.run(specs);
  await task.ready;
  const pids = relays.flatMap((s) => processTree(s.child.pid!));
  const cpu0 = treeCpuMs(pids);
  task.go();
  const startAbs = nowAbs();
  for (let i = 0; i < COMMITS; i++) await writer.transact(NB_DB, [insertSwitch(`${prefix}${i}`, nowAbs())]);
  const done = await task.done;
  const relayCpuMs = treeCpuMs(pids) - cpu0;
  const lastAbs = Math.max(...done.map((d) => d.lastAbs));
  const lat = new SampleList();
  for (const d of done) lat.pushAll(d.latencies);
  if (lat.length !== RELAYS * MONITORS * COMMITS) throw new Error(`fan-out: ${lat.length} deliveries`);
  const [p50, p99] = percentiles(lat.toArray(), [50, 99]);

  await writer.close();
  for (const s of relays) await stopServer(s);
  await stopServer(source);
  return { syncMs, dumpMs, fanoutMs: lastAbs - startAbs, p50: p50!, p99: p99!, relayCpuMs };
}

async function main(): Promise<void> {
  const pool = await GeneratorPool.start(2);
  const results: Record<Kind, Round[]> = { ts: [], c: [] };
  for (let rep = 0; rep < REPS; rep++) {
    const order: Kind[] = rep % 2 === 0 ? ['c', 'ts'] : ['ts', 'c'];
    for (const kind of order) {
      process.stderr.write(`rep ${rep + 1}/${REPS}: ${LABEL[kind]}...\n`);
      results[kind].push(await round(kind, rep, pool));
    }
  }
  await pool.close();

  const med = (k: Kind, f: (r: Round) => number) => summarize(results[k].map(f)).median;
  const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
  const row = (what: string, f: (r: Round) => number) => {
    const c = med('c', f);
    const t = med('ts', f);
    return `| ${what} | ${fmt(c)} | ${fmt(t)} | ${(t / c).toFixed(2)}× ${t <= c ? '✓' : '✗'} (${(c / t).toFixed(2)}× faster) |`;
  };
  const lines = [
    `### Relays (source: reference ovsdb-server, OVN_Northbound; ${RELAYS} relays; ${ROWS} ports; ${MONITORS} conditional monitors per relay; ${COMMITS} commits; median of ${REPS}, unix sockets)`,
    '',
    '| metric | reference relays | ovsdb-ts relays | ours/ref |',
    '|---|---:|---:|---:|',
    row(`first sync of both relays (${ROWS} ports)`, (r) => r.syncMs),
    row(`initial dump from a relay, monitor_cond, ${ROWS} ports`, (r) => r.dumpMs),
    row(`fan-out: all ${RELAYS * MONITORS} monitors have all ${COMMITS} rows`, (r) => r.fanoutMs),
    row('fan-out: delivery latency p50', (r) => r.p50),
    row('fan-out: delivery latency p99', (r) => r.p99),
    row('fan-out: CPU of both relays', (r) => r.relayCpuMs),
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench/relay: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);

