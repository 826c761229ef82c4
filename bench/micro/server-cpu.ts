// Server CPU per workload phase: a fixed workload against one server process, measured as the server's
// utime+stime (/proc/<pid>/stat), not wall time, so it is meaningful on a busy machine. Each phase runs on a
// fresh server (except the dumps and restart, which follow the load); the whole set repeats --reps times and the
// minimum CPU per phase is printed.
//
//   npx tsx bench/micro/server-cpu.ts [--binary bin/ovsdb-server] [--reps 3] [--only seq1,pipe64,...]
//        [--scale 1] [--prof DIR] [--perf FILE]   (--prof: sets PERF_NODE_ARGS="--cpu-prof ..." for a wrapper that passes it to node)
//
// --perf: `perf record` each measured phase into FILE.<phase> (run node with --perf-basic-prof).
// Phases: start (process start until list_dbs answers), echo (sequential echo requests: the JSON-RPC path
// alone; not in the default set), seq1 (sequential 1-row inserts), pipe64 (64 in flight),
// bigtxn (one txn with N ports), load (ports in 1000-row txns), dump-monitor / dump-monitor_cond / dump-select
// (initial contents of the loaded ports), restart (start on the loaded file), fanout (subscribers + writer).
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { RpcClient } from '../lib/jsonrpc.ts';
import { NB_DB, insertSwitch, switchWithPorts } from '../lib/ovn.ts';
import { ServerHandle, killAllServers } from '../lib/server.ts';
import type { JsonValue } from '../../schema/json.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}
const root = path.resolve(import.meta.dirname, '../..');
const binary = path.resolve(arg('--binary', path.join(root, 'bin/ovsdb-server')));
const reps = Number(arg('--reps', '3'));
const scale = Number(arg('--scale', '1'));
const only = new Set(arg('--only', 'start,seq1,pipe64,bigtxn,load,dump-monitor,dump-monitor_cond,dump-select,restart,fanout').split(','));
const profDir = arg('--prof', '');
const perfOut = arg('--perf', '');

const N_SEQ = Math.round(3000 * scale);
const N_PIPE = Math.round(6000 * scale);
const N_BIG = Math.round(10000 * scale);
const N_LOAD = Math.round(30000 * scale);
const FAN_SUBS = Math.round(50 * Math.min(scale, 4));
const FAN_WRITES = Math.round(300 * scale);

const opts = { schemaPath: '/usr/share/ovn/ovn-nb.ovsschema', ovsdbTool: '/usr/bin/ovsdb-tool', tcp: false, startTimeoutMs: 60_000 };
if (profDir) process.env['PERF_NODE_ARGS'] = `--cpu-prof --cpu-prof-dir=${path.resolve(profDir)}`;
if (perfOut) process.env['PERF_NODE_ARGS'] = '--perf-basic-prof';

const results = new Map<string, number[]>();
function record(phase: string, ms: number, per: number, unit: string): void {
  const key = `${phase} (per ${per} ${unit})`;
  const list = results.get(key) ?? [];
  list.push(ms);
  results.set(key, list);
}

async function measure(server: ServerHandle, phase: string, per: number, unit: string, fn: () => Promise<void>): Promise<void> {
  let perf: ChildProcess | null = null;
  if (perfOut) {
    // perf record of the server's CPU (cpu-clock samples, with JIT symbols from --perf-basic-prof).
    perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '2000', '-g', '-p', String(server.pid), '-o', `${perfOut}.${phase}`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
  }
  const c0 = server.cpuMs();
  const t0 = performance.now();
  await fn();
  const cpu = server.cpuMs() - c0;
  if (perf) {
    const done = new Promise((r) => perf!.once('exit', r));
    perf.kill('SIGINT');
    await done;
  }
  record(phase, cpu, per, unit);
  process.stderr.write(`  ${phase}: server CPU ${cpu.toFixed(0)} ms, wall ${(performance.now() - t0).toFixed(0)} ms\n`);
}

async function fresh(): Promise<{ server: ServerHandle; startCpu: number }> {
  const server = await ServerHandle.prepare({ kind: 'ours', label: 'server', binary }, opts);
  await server.start();
  return { server, startCpu: server.cpuMs() };
}

async function seq1(): Promise<void> {
  const { server, startCpu } = await fresh();
  record('start', startCpu, 1, 'process');
  try {
    const c = await RpcClient.connect(server.endpoint);
    for (let i = 0; i < 200; i++) await c.transact(NB_DB, [insertSwitch(`warm-${i}`)]);
    await measure(server, 'seq1', 1000, 'txn', async () => {
      for (let i = 0; i < N_SEQ; i++) await c.transact(NB_DB, [insertSwitch(`s-${i}`)]);
    });
    // normalize to per-1000 below
    const list = results.get('seq1 (per 1000 txn)')!;
    list[list.length - 1] = (list[list.length - 1]! * 1000) / N_SEQ;
    await c.close();
  } finally {
    await server.dispose();
  }
}

/** JSON-RPC path alone: sequential `echo` requests (no database work). */
async function echo(): Promise<void> {
  const { server } = await fresh();
  try {
    const c = await RpcClient.connect(server.endpoint);
    for (let i = 0; i < 200; i++) await c.request('echo', [i]);
    await measure(server, 'echo', 1000, 'req', async () => {
      for (let i = 0; i < N_SEQ; i++) await c.request('echo', [i]);
    });
    const list = results.get('echo (per 1000 req)')!;
    list[list.length - 1] = (list[list.length - 1]! * 1000) / N_SEQ;
    await c.close();
  } finally {
    await server.dispose();
  }
}

async function pipe64(): Promise<void> {
  const { server } = await fresh();
  try {
    const c = await RpcClient.connect(server.endpoint);
    for (let i = 0; i < 200; i++) await c.transact(NB_DB, [insertSwitch(`warm-${i}`)]);
    await measure(server, 'pipe64', 1000, 'txn', async () => {
      let next = 0;
      await new Promise<void>((resolve, reject) => {
        let done = 0;
        const launch = (): void => {
          if (next >= N_PIPE) return;
          const i = next++;
          c.transact(NB_DB, [insertSwitch(`p-${i}`)]).then(() => {
            if (++done === N_PIPE) resolve();
            else launch();
          }, reject);
        };
        for (let k = 0; k < 64; k++) launch();
      });
    });
    const list = results.get('pipe64 (per 1000 txn)')!;
    list[list.length - 1] = (list[list.length - 1]! * 1000) / N_PIPE;
    await c.close();
  } finally {
    await server.dispose();
  }
}

async function bigtxn(): Promise<void> {
  const { server } = await fresh();
  try {
    const c = await RpcClient.connect(server.endpoint);
    const ops = switchWithPorts('big', 0, N_BIG);
    await measure(server, 'bigtxn', N_BIG, 'rows', async () => {
      await c.transact(NB_DB, ops);
    });
    await c.close();
  } finally {
    await server.dispose();
  }
}

async function dump(server: ServerHandle, phase: string, method: string, params: JsonValue[]): Promise<void> {
  const c = await RpcClient.connect(server.endpoint);
  await measure(server, phase, N_LOAD, 'rows', async () => {
    await c.requestRaw(method, params);
  });
  await c.close();
}

async function load(): Promise<void> {
  const { server } = await fresh();
  try {
    const c = await RpcClient.connect(server.endpoint);
    await measure(server, 'load', N_LOAD, 'rows', async () => {
      for (let first = 0, sw = 0; first < N_LOAD; first += 1000, sw++) {
        await c.transact(NB_DB, switchWithPorts(`bulk-${sw}`, first, Math.min(1000, N_LOAD - first)));
      }
    });
    await c.close();
    const lsp = 'Logical_Switch_Port';
    if (only.has('dump-monitor')) await dump(server, 'dump-monitor', 'monitor', [NB_DB, 'dump', { [lsp]: {} }]);
    if (only.has('dump-monitor_cond')) await dump(server, 'dump-monitor_cond', 'monitor_cond', [NB_DB, 'dump', { [lsp]: [{}] }]);
    if (only.has('dump-select')) await dump(server, 'dump-select', 'transact', [NB_DB, { op: 'select', table: lsp, where: [] }]);
    if (only.has('restart')) {
      await server.stop();
      await server.start();
      record('restart', server.cpuMs(), N_LOAD, 'rows');
      process.stderr.write(`  restart: server CPU ${server.cpuMs().toFixed(0)} ms\n`);
    }
  } finally {
    await server.dispose();
  }
}

async function fanout(): Promise<void> {
  const { server } = await fresh();
  try {
    const subs: RpcClient[] = [];
    let seen = 0;
    for (let s = 0; s < FAN_SUBS; s++) {
      const c = await RpcClient.connect(server.endpoint);
      c.onNotification = () => {
        seen++;
      };
      await c.request('monitor_cond', [NB_DB, `m${s}`, { Logical_Switch: [{ columns: ['name', 'external_ids'] }] }]);
      subs.push(c);
    }
    const w = await RpcClient.connect(server.endpoint);
    await measure(server, 'fanout', FAN_WRITES, 'writes', async () => {
      for (let i = 0; i < FAN_WRITES; i++) await w.transact(NB_DB, [insertSwitch(`f-${i}`, 0)]);
      while (seen < FAN_SUBS * FAN_WRITES) await new Promise((r) => setTimeout(r, 5));
    });
    await w.close();
    for (const c of subs) await c.close();
  } finally {
    await server.dispose();
  }
}

try {
  for (let r = 0; r < reps; r++) {
    process.stderr.write(`rep ${r + 1}/${reps}\n`);
    if (only.has('seq1') || only.has('start')) await seq1();
    if (only.has('echo')) await echo();
    if (only.has('pipe64')) await pipe64();
    if (only.has('bigtxn')) await bigtxn();
    if (only.has('load') || only.has('restart') || only.has('dump-monitor')) await load();
    if (only.has('fanout')) await fanout();
  }
  console.log(`server CPU ms, min of ${reps} (binary ${binary}, scale ${scale})`);
  for (const [key, list] of results) {
    console.log(`${key.padEnd(36)} ${Math.min(...list).toFixed(0).padStart(7)}   all: ${list.map((x) => x.toFixed(0)).join(' ')}`);
  }
} finally {
  killAllServers();
}
