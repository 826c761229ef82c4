// Cluster benchmark: a 3-member OVN_Northbound Raft cluster of ovsdb-ts and one of the reference
// ovsdb-server, on the same machine, alternating over the repetitions (reference first in odd ones). Prints
// a markdown table of medians and ours/ref ratios, and the longest event-loop block our members logged in
// each phase (they run with OVSDB_TS_LOOP_WARN_MS, server/loop-watch.ts).
//
//   npx tsx bench/cluster.ts [--quick] [--reps=N] [--only=txn,catchup,failover,big] [--rows=N]
//                            [--ours=PATH] [--ref=PATH] [--no-ours] [--no-ref] [--keep-logs=DIR]
//
// Clusters are made with the real ovsdb-tool (create-cluster, join-cluster) on unix: Raft addresses. Phases:
//   txn        1-row inserts (Logical_Switch): one client sequentially, then 16 clients (in the generator
//              workers), first to the leader, then to a follower (which forwards to the leader)
//   catchup    a follower is stopped, CATCHUP 1-row transactions commit, the follower is started again:
//              time until it is connected and has applied them (the leader sends every missing entry in one
//              append_request)
//   failover   kill -9 of the leader; a client connected to every member writes to each survivor; time until
//              the first write is acknowledged (then the killed member is started again)
//   big        ROWS ports in 1000-row transactions; restart of a follower on that log (time until
//              connected); ovsdb-server/compact on every member; a 4th member joins (snapshot install of ROWS
//              rows: time until it is connected)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { RpcClient } from './lib/jsonrpc.ts';
import { Cluster, killAllMembers, rowCount, sleep, type Block, type ServerBinary } from './lib/cluster.ts';
import { insertSwitch, NB_DB, switchWithPorts } from './lib/ovn.ts';
import { GeneratorPool } from './lib/workers.ts';
import { percentiles, SampleList, summarize } from './lib/stats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string): string | undefined {
  const a = process.argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : '';
}

if (arg('help') !== undefined) {
  process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0] + '\n');
  process.exit(0);
}

const quick = arg('quick') !== undefined;
const REPS = Number(arg('reps') ?? 3);
const ROWS = Number(arg('rows') ?? (quick ? 10_000 : 100_000));
const SEQ_TXNS = quick ? 300 : 1500;
const CLIENTS = 16;
const PER_CLIENT = quick ? 30 : 150;
const CATCHUP = quick ? 1000 : 10_000;
const FAILOVERS = quick ? 1 : 3;
const ONLY = new Set((arg('only') ?? 'txn,catchup,failover,big').split(','));
const KEEP_LOGS = arg('keep-logs');
/** Our members log every event-loop block of at least this many ms. */
const LOOP_WARN_MS = 20;

type Kind = 'ref' | 'ours';
const LABEL: Record<Kind, string> = { ref: 'reference', ours: 'ovsdb-ts' };
const SERVER: Record<Kind, ServerBinary> = {
  ref: { binary: arg('ref') ?? '/usr/sbin/ovsdb-server', label: LABEL.ref },
  ours: { binary: arg('ours') ?? path.join(ROOT, 'bin/ovsdb-server'), label: LABEL.ours, env: { OVSDB_TS_LOOP_WARN_MS: String(LOOP_WARN_MS) } },
};
const KINDS: Kind[] = (['ref', 'ours'] as Kind[]).filter((k) => arg(`no-${k}`) === undefined);

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-cl-'));
process.on('exit', () => {
  killAllMembers();
  fs.rmSync(base, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

// ---------------------------------------------------------------------------------------------------------
// Phases

/** metric name → value, for one round of one kind. */
type Round = Map<string, number>;
/** phase → longest event-loop block of our members during it. */
type Blocks = Map<string, Block>;

interface Metric {
  readonly name: string;
  readonly unit: 'ms' | 'txn/s';
  readonly better: 'lower' | 'higher';
}
const METRICS: Metric[] = [];
function metric(name: string, unit: Metric['unit'], better: Metric['better']): string {
  if (!METRICS.some((m) => m.name === name)) METRICS.push({ name, unit, better });
  return name;
}

async function timedPhase(cl: Cluster, blocks: Blocks, phase: string, fn: () => Promise<void>): Promise<void> {
  const from = Date.now();
  await fn();
  if (cl.server === SERVER.ours) blocks.set(phase, maxBlock(blocks.get(phase), cl.longestBlock(from, Date.now())));
}

function maxBlock(a: Block | undefined, b: Block): Block {
  return a === undefined ? b : { wall: Math.max(a.wall, b.wall), cpu: Math.max(a.cpu, b.cpu) };
}

async function sequential(endpoint: string, n: number, prefix: string): Promise<{ tps: number; p50: number; p99: number }> {
  const c = await RpcClient.connect(endpoint);
  const lat = new SampleList();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await c.transact(NB_DB, [insertSwitch(`${prefix}-${i}`)]);
    lat.push(performance.now() - s);
  }
  const wall = performance.now() - t0;
  await c.close();
  const [p50, p99] = percentiles(lat.toArray(), [50, 99]);
  return { tps: (n * 1000) / wall, p50: p50!, p99: p99! };
}

async function parallel(pool: GeneratorPool, endpoint: string, prefix: string): Promise<{ tps: number; p50: number; p99: number }> {
  const w = pool.size;
  const specs = Array.from({ length: w }, (_, i) => {
    const clients = Math.floor(CLIENTS / w) + (i < CLIENTS % w ? 1 : 0);
    return clients === 0 ? null : { type: 'txn' as const, taskId: 0, endpoint, db: NB_DB, clients, txnsPerClient: PER_CLIENT, prefix: `${prefix}-w${i}` };
  });
  const task = pool.run(specs);
  await task.ready;
  const t0 = performance.now();
  task.go();
  const done = await task.done;
  const wall = performance.now() - t0;
  const lat = new SampleList();
  for (const d of done) lat.pushAll(d.latencies);
  const [p50, p99] = percentiles(lat.toArray(), [50, 99]);
  return { tps: (lat.length * 1000) / wall, p50: p50!, p99: p99! };
}

async function txnPhases(cl: Cluster, pool: GeneratorPool, rep: number, out: Round, blocks: Blocks): Promise<void> {
  for (const via of ['leader', 'follower'] as const) {
    const target = via === 'leader' ? await cl.leader() : await cl.follower();
    await timedPhase(cl, blocks, 'txn', async () => {
      const s = await sequential(target.endpoint, SEQ_TXNS, `seq-${via}-${rep}`);
      out.set(metric(`1 client → ${via}: txn/s`, 'txn/s', 'higher'), s.tps);
      out.set(metric(`1 client → ${via}: commit latency p50`, 'ms', 'lower'), s.p50);
      out.set(metric(`1 client → ${via}: commit latency p99`, 'ms', 'lower'), s.p99);
      const p = await parallel(pool, target.endpoint, `par-${via}-${rep}`);
      out.set(metric(`${CLIENTS} clients → ${via}: txn/s`, 'txn/s', 'higher'), p.tps);
      out.set(metric(`${CLIENTS} clients → ${via}: commit latency p50`, 'ms', 'lower'), p.p50);
      out.set(metric(`${CLIENTS} clients → ${via}: commit latency p99`, 'ms', 'lower'), p.p99);
    });
  }
}

/** `n` 1-row inserts, 64 in flight on one connection; returns when all are acknowledged. */
async function burst(endpoint: string, n: number, prefix: string): Promise<void> {
  const c = await RpcClient.connect(endpoint);
  let next = 0;
  const chain = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await c.transact(NB_DB, [insertSwitch(`${prefix}-${i}`)]);
    }
  };
  await Promise.all(Array.from({ length: 64 }, chain));
  await c.close();
}

async function catchupPhase(cl: Cluster, rep: number, out: Round, blocks: Blocks): Promise<void> {
  const f = await cl.follower();
  const leader = await cl.leader();
  await f.stop();
  await burst(leader.endpoint, CATCHUP, `catchup-${rep}`);
  const target = (await leader.serverRow())!.index;
  await timedPhase(cl, blocks, 'catchup', async () => {
    const t0 = performance.now();
    f.start();
    await f.waitConnected(target);
    out.set(metric(`restart of a follower ${CATCHUP} entries behind: connected and caught up`, 'ms', 'lower'), performance.now() - t0);
  });
}

async function failoverPhase(cl: Cluster, rep: number, out: Round, blocks: Blocks): Promise<void> {
  // (The blocks of this phase include the killed members' restarts.)
  const samples: number[] = [];
  const from = Date.now();
  for (let k = 0; k < FAILOVERS; k++) {
    const leader = await cl.leader();
    const survivors = cl.members.filter((m) => m !== leader && m.running);
    const clients = await Promise.all(survivors.map((m) => RpcClient.connect(m.endpoint)));
    // Every member has applied the same entries before the kill, so the first write after it is fresh.
    await sleep(300);
    const t0 = performance.now();
    await leader.stop('SIGKILL');
    const acked = await Promise.any(clients.map((c, i) => c.transact(NB_DB, [insertSwitch(`failover-${rep}-${k}-${i}`)])));
    void acked;
    samples.push(performance.now() - t0);
    await Promise.allSettled(clients.map((c) => c.close()));
    leader.start();
    await leader.waitConnected();
  }
  if (cl.server === SERVER.ours) blocks.set('failover', cl.longestBlock(from, Date.now()));
  out.set(metric('failover: leader kill -9 → next acknowledged write', 'ms', 'lower'), summarize(samples).median);
}

async function bigPhases(cl: Cluster, rep: number, out: Round, blocks: Blocks): Promise<void> {
  const leader = await cl.leader();
  const w = await RpcClient.connect(leader.endpoint);
  let t0 = performance.now();
  const batches = Math.ceil(ROWS / 1000);
  await timedPhase(cl, blocks, 'load', async () => {
    for (let i = 0; i < batches; i++) await w.transact(NB_DB, switchWithPorts(`big-${rep}-${i}`, i * 1000, Math.min(1000, ROWS - i * 1000)));
  });
  out.set(metric(`load ${ROWS} ports in 1000-row transactions`, 'ms', 'lower'), performance.now() - t0);
  await w.close();
  const target = (await leader.serverRow())!.index;
  for (const m of cl.members) await m.waitConnected(target);

  // Restart of a follower on a log holding every row.
  const f = await cl.follower();
  await f.stop();
  await timedPhase(cl, blocks, 'restart', async () => {
    t0 = performance.now();
    f.start();
    await f.waitConnected(target);
    out.set(metric(`restart of a member on a ${ROWS}-row log: connected`, 'ms', 'lower'), performance.now() - t0);
  });
  const n = await rowCount(f, 'Logical_Switch_Port');
  if (n !== ROWS) throw new Error(`restarted member has ${n} ports, expected ${ROWS}`);

  // Compaction on every member, followers first.
  const l = await cl.leader();
  const order = [...cl.members.filter((m) => m !== l), l];
  let compactMs = 0;
  await timedPhase(cl, blocks, 'compact', async () => {
    for (const m of order) {
      t0 = performance.now();
      m.appctl('ovsdb-server/compact', NB_DB);
      compactMs = Math.max(compactMs, performance.now() - t0);
    }
  });
  out.set(metric(`ovsdb-server/compact of ${ROWS} rows (slowest member)`, 'ms', 'lower'), compactMs);

  // A 4th member joins: the leader sends it the snapshot.
  const j = cl.join();
  await timedPhase(cl, blocks, 'join', async () => {
    t0 = performance.now();
    j.start();
    await j.waitConnected();
    out.set(metric(`a new member joins after compaction (snapshot of ${ROWS} rows): connected`, 'ms', 'lower'), performance.now() - t0);
  });
  const nj = await rowCount(j, 'Logical_Switch_Port');
  if (nj !== ROWS) throw new Error(`joined member has ${nj} ports, expected ${ROWS}`);
}

async function round(kind: Kind, rep: number, pool: GeneratorPool): Promise<{ out: Round; blocks: Blocks }> {
  const dir = path.join(base, `${kind}${rep}`);
  const out: Round = new Map();
  const blocks: Blocks = new Map();
  const cl = await Cluster.create(SERVER[kind], dir, 3);
  try {
    if (ONLY.has('txn')) await txnPhases(cl, pool, rep, out, blocks);
    if (ONLY.has('catchup')) await catchupPhase(cl, rep, out, blocks);
    if (ONLY.has('failover')) await failoverPhase(cl, rep, out, blocks);
    if (ONLY.has('big')) await bigPhases(cl, rep, out, blocks);
  } catch (e) {
    const tails = cl.members.map((m) => `${m.name}: ${m.logTail()}`).join('\n');
    throw new Error(`${LABEL[kind]}: ${(e as Error).message}\n${tails}`);
  } finally {
    await cl.stop();
    if (KEEP_LOGS !== undefined) {
      fs.mkdirSync(KEEP_LOGS, { recursive: true });
      for (const m of cl.members) fs.copyFileSync(m.log, path.join(KEEP_LOGS, `${kind}${rep}-${m.name}.log`));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { out, blocks };
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const pool = await GeneratorPool.start(2);
  const results: Record<Kind, Round[]> = { ref: [], ours: [] };
  const blocks: Blocks[] = [];
  const errors: string[] = [];
  const load0 = os.loadavg();
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? KINDS : [...KINDS].reverse();
    for (const kind of order) {
      process.stderr.write(`rep ${rep + 1}/${REPS}: ${LABEL[kind]} cluster...\n`);
      try {
        const r = await round(kind, rep, pool);
        results[kind].push(r.out);
        if (kind === 'ours') blocks.push(r.blocks);
        for (const [k, v] of r.out) process.stderr.write(`  ${k}: ${v.toFixed(1)}\n`);
        for (const [k, v] of r.blocks) process.stderr.write(`  longest block in ${k}: ${v.wall} ms (${v.cpu} ms on CPU)\n`);
      } catch (e) {
        // A failed round is reported; the others still count.
        const msg = `rep ${rep + 1}, ${LABEL[kind]}: ${(e as Error).message}`;
        errors.push(msg);
        process.stderr.write(`${msg}\n`);
      }
    }
  }
  await pool.close();

  const med = (k: Kind, name: string) => summarize(results[k].map((r) => r.get(name) ?? Number.NaN)).median;
  const fmt = (v: number, unit: Metric['unit']) =>
    !Number.isFinite(v) ? 'n/a' : unit === 'txn/s' ? `${v.toFixed(0)} txn/s` : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;
  const lines = [
    `### Clusters (3 members, OVN_Northbound, unix: Raft addresses; median of ${REPS}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} at start, ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at the end, ${os.cpus().length} cores)`,
    '',
    '| metric | reference | ovsdb-ts | ours/ref |',
    '|---|---:|---:|---:|',
  ];
  for (const m of METRICS) {
    const r = med('ref', m.name);
    const o = med('ours', m.name);
    const ratio = o / r;
    const good = m.better === 'lower' ? o <= r : o >= r;
    const cell = Number.isFinite(ratio) ? `${ratio.toFixed(2)}× ${good ? '✓' : '✗'}` : 'n/a';
    lines.push(`| ${m.name} | ${fmt(r, m.unit)} | ${fmt(o, m.unit)} | ${cell} |`);
  }
  if (blocks.length > 0) {
    lines.push(
      '',
      `Longest event-loop block of any ovsdb-ts member per phase (logged at ≥ ${LOOP_WARN_MS} ms; max over the repetitions). ` +
        'Wall: lateness of a 5 ms timer, which on a busy machine also counts waiting for a CPU; on CPU: the main thread’s own run time in the longest such stretch:',
      '',
    );
    lines.push('| phase | longest block (wall) | longest block (on CPU) |', '|---|---:|---:|');
    const phases = new Set(blocks.flatMap((b) => [...b.keys()]));
    const cell = (v: number) => (v === 0 ? `< ${LOOP_WARN_MS} ms` : `${v} ms`);
    for (const p of phases) {
      const wall = Math.max(...blocks.map((b) => b.get(p)?.wall ?? 0));
      const cpu = Math.max(...blocks.map((b) => b.get(p)?.cpu ?? 0));
      lines.push(`| ${p} | ${cell(wall)} | ${cell(cpu)} |`);
    }
  }
  if (errors.length > 0) lines.push('', 'Errors:', '', ...errors.map((e) => `- ${e.split('\n')[0]}`));
  lines.push('');
  process.stdout.write(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench/cluster: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
