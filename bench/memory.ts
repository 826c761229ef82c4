// `npx tsx bench/memory.ts`: resident memory of ovsdb-ts and of the real ovsdb-server under the same loads,
// side by side (see bench/README.md, "Memory"). Each scenario runs on a fresh OVN_Northbound database for each
// server, one server at a time; the load stays connected while the figures are read.
//
//   empty        the server idle after start
//   clients      1,000 connections, each with a monitor_cond on Logical_Switch, then 100 commits fanned out to all
//   values512k   one writer updating a row's 512 KiB value 100 times, one monitor_cond client receiving them
//   messages64m  3 transactions of 64 MiB each (64 values of 1 MiB in one map), one monitor_cond client
//   churn        10 rounds of 1,000 clients that connect, monitor, and disconnect; RSS after each round
//
// Readings: "just after" the load (1 s of quiet) and "settled" (15 s later, the load still connected), since
// ours returns memory once idle (cli/memory-relief.ts) and the C server's RSS does not move. RSS is VmRSS,
// anon its RssAnon part, peak is VmHWM. For ours, "heap" is V8's used heap after a forced full GC
// (bench/lib/memory-probe.mjs, preloaded with NODE_OPTIONS), read after RSS.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { JsonValue } from '../schema/json.ts';
import { RpcClient } from './lib/jsonrpc.ts';
import { NB_DB, insertSwitch } from './lib/ovn.ts';
import { binaryAvailable, killAllServers, ServerHandle, stopServersOnSignals, type ServerKind, type ServerSpec } from './lib/server.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    ours: { type: 'string', default: path.join(repo, 'bin', 'ovsdb-server') },
    ref: { type: 'string', default: '/usr/sbin/ovsdb-server' },
    'no-ref': { type: 'boolean', default: false },
    json: { type: 'string' },
    schema: { type: 'string', default: '/usr/share/ovn/ovn-nb.ovsschema' },
    'ovsdb-tool': { type: 'string', default: 'ovsdb-tool' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opt.help) {
  process.stdout.write(`usage: npx tsx bench/memory.ts [--quick] [--only=empty,clients,values512k,messages64m,churn]
  [--ours=PATH] [--ref=PATH] [--no-ref] [--json=FILE]
`);
  process.exit(0);
}

const quick = opt.quick ?? false;
const SCALE = quick
  ? { clients: 1000, fanoutCommits: 20, bigValues: 20, bigMessages: 1, churnRounds: 3 }
  : { clients: 1000, fanoutCommits: 100, bigValues: 100, bigMessages: 3, churnRounds: 10 };

const MiB = 1024 * 1024;
const JUST_AFTER_MS = 1000;
const SETTLE_MS = 15_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`${msg}\n`);

interface HeapProbe {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, { size: number; used: number }>;
}

/** One reading: RSS now, peak so far, and (ours only) the heap after a full GC. */
interface Reading {
  rss: number;
  /** RssAnon: the process's own memory, without the mapped executable and libraries. */
  anon: number;
  peak: number;
  heap: HeapProbe | null;
}

class Probe {
  constructor(
    readonly server: ServerHandle,
    private readonly file: string | null,
  ) {}

  /** RSS first (undisturbed), then the heap after GC. */
  async read(withHeap = true): Promise<Reading> {
    this.server.assertAlive();
    const rss = this.server.rssBytes();
    const anon = this.server.anonRssBytes();
    const peak = this.server.peakRssBytes();
    return { rss, anon, peak, heap: withHeap ? await this.heap() : null };
  }

  private async heap(): Promise<HeapProbe | null> {
    if (this.file === null || this.server.pid === undefined) return null;
    fs.rmSync(this.file, { force: true });
    process.kill(this.server.pid, 'SIGUSR2');
    for (let i = 0; i < 6000; i++) {
      await sleep(10);
      if (fs.existsSync(this.file)) return JSON.parse(fs.readFileSync(this.file, 'utf8')) as HeapProbe;
    }
    throw new Error('ovsdb-ts did not answer the memory probe (SIGUSR2) within 60 s');
  }
}

type Figures = Record<string, Reading>;

interface Scenario {
  id: string;
  what: string;
  run(endpoint: string, probe: Probe): Promise<Figures>;
}

/** Connects, retrying while the server's accept backlog is full (a unix socket then refuses with EAGAIN). */
async function connect(endpoint: string): Promise<RpcClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await RpcClient.connect(endpoint);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt === 1000) throw e;
      await sleep(2);
    }
  }
}

async function connectMany(endpoint: string, n: number): Promise<RpcClient[]> {
  const out: RpcClient[] = [];
  for (let i = 0; i < n; i += 50) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => connect(endpoint)))));
  }
  return out;
}

function monitorCond(c: RpcClient, columns?: string[]): Promise<unknown> {
  const req: { [k: string]: JsonValue } = columns ? { columns } : {};
  return c.request('monitor_cond', [NB_DB, null, { Logical_Switch: [req] }]);
}

async function closeAll(clients: RpcClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
}

/** Counts update2 rows per client until every client has seen `rows` inserts. */
function countInserts(clients: RpcClient[], rows: number): Promise<void> {
  let done = 0;
  return new Promise((resolve) => {
    for (const c of clients) {
      let seen = 0;
      c.onNotification = (method, params) => {
        if (method !== 'update2') return;
        const tables = params[1] as Record<string, Record<string, { insert?: unknown }>>;
        for (const row of Object.values(tables['Logical_Switch'] ?? {})) if (row.insert) seen++;
        if (seen === rows && ++done === clients.length) resolve();
      };
    }
  });
}

/** Waits until `c` has received an update2 for which `pred` holds. */
function nextUpdate(c: RpcClient, pred: (tables: Record<string, unknown>) => boolean): Promise<void> {
  return new Promise((resolve) => {
    c.onNotification = (method, params) => {
      if (method === 'update2' && pred(params[1] as Record<string, unknown>)) resolve();
    };
  });
}

const SCENARIOS: Scenario[] = [
  {
    id: 'empty',
    what: 'idle after start',
    async run(_endpoint, probe) {
      await sleep(JUST_AFTER_MS);
      const started = await probe.read(false);
      await sleep(SETTLE_MS);
      return { 'just after start': started, settled: await probe.read() };
    },
  },
  {
    id: 'clients',
    what: `${SCALE.clients} clients with monitor_cond, ${SCALE.fanoutCommits} commits fanned out`,
    async run(endpoint, probe) {
      const clients = await connectMany(endpoint, SCALE.clients);
      await Promise.all(clients.map((c) => monitorCond(c)));
      await sleep(1000);
      const connected = await probe.read(false);
      const all = countInserts(clients, SCALE.fanoutCommits);
      const writer = await RpcClient.connect(endpoint);
      for (let i = 0; i < SCALE.fanoutCommits; i++) await writer.transact(NB_DB, [insertSwitch(`ls${i}`, Date.now())]);
      await all;
      await sleep(JUST_AFTER_MS);
      const after = await probe.read(false);
      await sleep(SETTLE_MS);
      const settled = await probe.read();
      await closeAll([writer, ...clients]);
      return { connected, 'just after fan-out': after, settled };
    },
  },
  {
    id: 'values512k',
    what: `one row's 512 KiB value updated ${SCALE.bigValues} times, one monitor_cond client`,
    async run(endpoint, probe) {
      const writer = await RpcClient.connect(endpoint);
      const watcher = await RpcClient.connect(endpoint);
      await monitorCond(watcher);
      const [ins] = (await writer.transact(NB_DB, [insertSwitch('big')])) as [{ uuid: [string, string] }];
      for (let i = 0; i < SCALE.bigValues; i++) {
        const value = crypto.randomBytes((512 * 1024 * 3) / 4).toString('base64');
        const seen = nextUpdate(watcher, () => true);
        await writer.transact(NB_DB, [
          { op: 'update', table: 'Logical_Switch', where: [['_uuid', '==', ins.uuid]], row: { external_ids: ['map', [['blob', value]]] } },
        ]);
        await seen;
      }
      await sleep(JUST_AFTER_MS);
      const after = await probe.read(false);
      await sleep(SETTLE_MS);
      const settled = await probe.read();
      await closeAll([writer, watcher]);
      return { 'just after': after, settled };
    },
  },
  {
    id: 'messages64m',
    what: `${SCALE.bigMessages} transaction(s) of 64 MiB (64 × 1 MiB values in one map), one monitor_cond client`,
    async run(endpoint, probe) {
      const writer = await RpcClient.connect(endpoint);
      const watcher = await RpcClient.connect(endpoint);
      await monitorCond(watcher);
      const [ins] = (await writer.transact(NB_DB, [insertSwitch('huge')])) as [{ uuid: [string, string] }];
      for (let i = 0; i < SCALE.bigMessages; i++) {
        const pairs: JsonValue[] = [];
        for (let k = 0; k < 64; k++) pairs.push([`k${k}`, crypto.randomBytes((MiB * 3) / 4).toString('base64')]);
        const seen = nextUpdate(watcher, () => true);
        await writer.transact(NB_DB, [
          { op: 'update', table: 'Logical_Switch', where: [['_uuid', '==', ins.uuid]], row: { external_ids: ['map', pairs] } },
        ]);
        await seen;
      }
      await sleep(JUST_AFTER_MS);
      const after = await probe.read(false);
      await sleep(SETTLE_MS);
      const settled = await probe.read();
      await closeAll([writer, watcher]);
      return { 'just after': after, settled };
    },
  },
  {
    id: 'churn',
    what: `${SCALE.churnRounds} rounds of ${SCALE.clients} clients: connect, monitor_cond (100 rows), disconnect`,
    async run(endpoint, probe) {
      const writer = await RpcClient.connect(endpoint);
      await writer.transact(NB_DB, Array.from({ length: 100 }, (_, i) => insertSwitch(`ls${i}`)));
      const figures: Figures = {};
      for (let round = 1; round <= SCALE.churnRounds; round++) {
        const clients = await connectMany(endpoint, SCALE.clients);
        await Promise.all(clients.map((c) => monitorCond(c)));
        await closeAll(clients);
        await sleep(500);
        // The heap probe's forced GC would flatter the readings after it: only after the first round (and
        // once settled, below).
        if (round === 1 || round === Math.ceil(SCALE.churnRounds / 2) || round === SCALE.churnRounds) {
          figures[`just after round ${round}`] = await probe.read(round === 1);
        }
      }
      await sleep(SETTLE_MS);
      figures['settled'] = await probe.read();
      await writer.close();
      return figures;
    },
  },
];

async function runScenario(spec: ServerSpec, scenario: Scenario): Promise<Figures> {
  const probeFile = spec.kind === 'ours' ? path.join(os.tmpdir(), `ovsdb-ts-memory-probe-${process.pid}.json`) : null;
  const server = await ServerHandle.prepare(
    probeFile === null
      ? spec
      : {
          ...spec,
          env: {
            NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import=${pathToFileURL(path.join(here, 'lib', 'memory-probe.mjs')).href}`.trim(),
            OVSDB_TS_MEMORY_PROBE: probeFile,
          },
        },
    { schemaPath: opt.schema!, ovsdbTool: opt['ovsdb-tool']!, tcp: false, startTimeoutMs: 20_000 },
  );
  try {
    await server.start();
    return await scenario.run(server.endpoint, new Probe(server, probeFile));
  } finally {
    await server.dispose();
    if (probeFile) fs.rmSync(probeFile, { force: true });
  }
}

const mib = (b: number | undefined) => (b === undefined || !Number.isFinite(b) ? 'n/a' : (b / MiB).toFixed(1));

async function main(): Promise<void> {
  stopServersOnSignals();
  const specs: ServerSpec[] = [{ kind: 'ours', label: 'ovsdb-ts', binary: opt.ours! }];
  if (!opt['no-ref'] && binaryAvailable(opt.ref!)) specs.unshift({ kind: 'ref', label: 'ovsdb-server', binary: opt.ref! });
  const only = opt.only ? new Set(opt.only.split(',')) : null;
  const scenarios = SCENARIOS.filter((s) => !only || only.has(s.id));
  if (scenarios.length === 0) throw new Error(`--only matched no scenario (have: ${SCENARIOS.map((s) => s.id).join(', ')})`);

  const results: Record<string, Partial<Record<ServerKind, Figures>>> = {};
  const load0 = os.loadavg()[0]!.toFixed(2);
  for (const s of scenarios) {
    results[s.id] = {};
    for (const spec of specs) {
      log(`memory: ${s.id} on ${spec.label}`);
      results[s.id]![spec.kind] = await runScenario(spec, s);
    }
  }

  const lines = [
    `# Memory: ovsdb-ts vs ovsdb-server ${quick ? '(quick)' : ''}`.trim(),
    '',
    `${new Date().toISOString()}, ${os.cpus().length} cores, load average ${load0} → ${os.loadavg()[0]!.toFixed(2)}; ` +
      `Node ${process.version}. MiB. RSS = VmRSS after the load (anon = its RssAnon part: heaps and buffers, without ` +
      `the mapped executable and libraries), peak = VmHWM; heap = ours' V8 used heap after a forced GC (external).`,
    '',
    '| scenario | reading | ovsdb-server RSS (anon) | ovsdb-ts RSS (anon) | ours/ref RSS | ovsdb-server peak | ovsdb-ts peak | ovsdb-ts heap (external) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const s of scenarios) {
    const r = results[s.id]!;
    for (const reading of Object.keys(r.ours ?? r.ref ?? {})) {
      const ref = r.ref?.[reading];
      const ours = r.ours?.[reading];
      const ratio = ref && ours ? (ours.rss / ref.rss).toFixed(2) + '×' : 'n/a';
      const heap = ours?.heap ? `${mib(ours.heap.heapUsed)} (${mib(ours.heap.external)})` : '';
      lines.push(
        `| ${s.id}: ${s.what} | ${reading} | ${mib(ref?.rss)} (${mib(ref?.anon)}) | ${mib(ours?.rss)} (${mib(ours?.anon)}) | ${ratio} | ${mib(ref?.peak)} | ${mib(ours?.peak)} | ${heap} |`,
      );
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify({ quick, scale: SCALE, results }, null, 2) + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    killAllServers();
    log(`memory: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
