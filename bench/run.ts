// `make bench` / `make bench-quick`: runs every scenario against the real ovsdb-server and against ovsdb-ts,
// alternating which goes first in each repetition, and writes bench/results/{latest.json,latest.md,ratios.svg}.
// See bench/README.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FULL_SCALE, QUICK_SCALE, type PhaseResult, type Scenario } from './lib/phase.ts';
import { binaryAvailable, killAllServers, ServerHandle, stopServersOnSignals, type ServerKind, type ServerSpec } from './lib/server.ts';
import { GeneratorPool } from './lib/workers.ts';
import { fmt, summarizeRuns, toMarkdown, toSvg, type Report, type RunRecord } from './lib/report.ts';
import { SCENARIOS } from './scenarios/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    only: { type: 'string' },
    ours: { type: 'string', default: path.join(repo, 'bin', 'ovsdb-server') },
    ref: { type: 'string', default: '/usr/sbin/ovsdb-server' },
    'no-ours': { type: 'boolean', default: false },
    'no-ref': { type: 'boolean', default: false },
    tcp: { type: 'boolean', default: false },
    workers: { type: 'string', default: '2' },
    out: { type: 'string' },
    schema: { type: 'string', default: '/usr/share/ovn/ovn-nb.ovsschema' },
    'ovsdb-tool': { type: 'string', default: 'ovsdb-tool' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opt.help) {
  process.stdout.write(`usage: npx tsx bench/run.ts [--quick] [--reps=N] [--only=txn,bigtxn,db100k,fanout-monitor,fanout-monitor_cond]
  [--ours=PATH] [--ref=PATH] [--no-ours] [--no-ref] [--tcp] [--workers=N] [--out=DIR] [--timeout=SECONDS]
`);
  process.exit(0);
}

const quick = opt.quick ?? false;
const reps = Math.max(1, Number(opt.reps ?? 3));
const scale = quick ? QUICK_SCALE : FULL_SCALE;
const scenarioTimeoutMs = Number(opt.timeout ?? (quick ? 45 : 600)) * 1000;
const outDir = opt.out ?? path.join(here, 'results');
const only = opt.only ? new Set(opt.only.split(',')) : null;
const scenarios: Scenario[] = SCENARIOS.filter((s) => !only || only.has(s.id));
if (scenarios.length === 0) throw new Error(`--only matched no scenario (have: ${SCENARIOS.map((s) => s.id).join(', ')})`);

const specs: Record<ServerKind, ServerSpec> = {
  ref: { kind: 'ref', label: 'ovsdb-server', binary: opt.ref! },
  ours: { kind: 'ours', label: 'ovsdb-ts', binary: opt.ours! },
};

function versionOf(binary: string): string {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch {
    return 'unknown version';
  }
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Runs one scenario on one server: fresh db, start, run under a time limit, stop, remove. */
async function runOne(pool: GeneratorPool, spec: ServerSpec, scenario: Scenario, rep: number, position: number): Promise<RunRecord> {
  const t0 = performance.now();
  const phases: PhaseResult[] = [];
  const record: RunRecord = { rep, scenario: scenario.id, server: spec.kind, position, ok: false, durationMs: 0, phases };
  let server: ServerHandle | null = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    server = await ServerHandle.prepare(spec, {
      schemaPath: opt.schema!,
      ovsdbTool: opt['ovsdb-tool']!,
      tcp: opt.tcp ?? false,
      startTimeoutMs: 20_000,
    });
    const srv = server;
    record.startupMs = await srv.start();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${scenarioTimeoutMs / 1000} s`)), scenarioTimeoutMs);
    });
    await Promise.race([
      scenario.run({ server: srv, scale, pool, record: (p) => phases.push(p), log }),
      timeout,
    ]);
    srv.assertAlive();
    record.ok = true;
  } catch (err) {
    record.error = err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
    // Stopping the server also unblocks any generator task still waiting on it.
    await server?.dispose();
    record.durationMs = performance.now() - t0;
  }
  return record;
}

function progressLine(r: RunRecord): string {
  const who = r.server === 'ref' ? 'ovsdb-server' : 'ovsdb-ts    ';
  const head = `  rep ${r.rep + 1} ${r.scenario.padEnd(20)} ${who} ${(r.durationMs / 1000).toFixed(1).padStart(6)} s`;
  const parts = r.phases.map((p) => {
    const main = Object.entries(p.metrics)
      .filter(([, m]) => m.better !== 'info')
      .slice(0, 3)
      .map(([k, m]) => `${k}=${fmt(m.value)}`)
      .join(' ');
    return `${p.phase}[${main}${p.genBound ? ' GEN' : ''}]`;
  });
  return `${head}  ${parts.join(' ')}${r.ok ? '' : `  FAILED: ${r.error}`}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  stopServersOnSignals();
  const load0 = os.loadavg()[0]!;
  const cores = os.availableParallelism();
  const workers = Math.max(1, Number(opt.workers));
  const refOn = !opt['no-ref'] && binaryAvailable(specs.ref.binary);
  const oursOn = !opt['no-ours'] && binaryAvailable(specs.ours.binary);
  const oursStatus = opt['no-ours'] ? 'n/a (--no-ours)' : oursOn ? versionOf(specs.ours.binary) : `n/a (${specs.ours.binary} missing)`;
  log(`bench: ${quick ? 'quick' : 'full'} scale, ${reps} reps, ${scenarios.length} scenarios, ${workers} generator workers, ${cores} CPUs`);
  log(`bench: reference ${refOn ? specs.ref.binary : 'n/a'}; ours ${oursOn ? specs.ours.binary : oursStatus}`);

  const pool = await GeneratorPool.start(workers);
  const runs: RunRecord[] = [];
  const errors: string[] = [];
  const enabled: Record<ServerKind, boolean> = { ref: refOn, ours: oursOn };
  const failed = new Set<string>();
  try {
    for (let rep = 0; rep < reps; rep++) {
      // Alternate which server goes first, so warm caches and thermal state favour neither.
      const order: ServerKind[] = rep % 2 === 0 ? ['ref', 'ours'] : ['ours', 'ref'];
      for (const scenario of scenarios) {
        for (const [position, kind] of order.entries()) {
          if (!enabled[kind]) continue;
          const key = `${kind}/${scenario.id}`;
          if (failed.has(key)) continue;
          const r = await runOne(pool, specs[kind], scenario, rep, position);
          runs.push(r);
          log(progressLine(r));
          if (r.ok) continue;
          errors.push(`rep ${rep + 1} ${scenario.id} ${specs[kind].label}: ${r.error}`);
          // Keep a broken server from eating the time budget: a server that cannot start is dropped for the
          // rest of the run, a scenario that failed is not repeated for that server.
          if (r.startupMs === undefined) {
            enabled[kind] = false;
            errors.push(`${specs[kind].label}: failed to start; skipped for the rest of the run`);
          } else {
            failed.add(key);
            if (rep + 1 < reps) errors.push(`${specs[kind].label}: ${scenario.id} not repeated after the failure`);
          }
        }
      }
    }
  } finally {
    await pool.close();
    killAllServers();
  }
  if (!oursOn) errors.unshift(`ovsdb-ts: ${oursStatus} — all its cells are n/a`);
  if (!refOn) errors.unshift(`reference: n/a (${opt['no-ref'] ? '--no-ref' : `${specs.ref.binary} missing`})`);

  const { metrics, phases } = summarizeRuns(runs);
  const report: Report = {
    meta: {
      date: new Date().toISOString(),
      quick,
      reps,
      transport: opt.tcp ? 'tcp (loopback)' : 'unix socket',
      generatorWorkers: workers,
      host: {
        cpus: cores,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memGB: Math.round(os.totalmem() / 2 ** 30),
        node: process.versions.node,
        kernel: os.release(),
      },
      reference: { binary: specs.ref.binary, version: refOn ? versionOf(specs.ref.binary) : 'n/a' },
      ours: { binary: specs.ours.binary, status: oursStatus },
      durationS: (performance.now() - started) / 1000,
      loadAvg: { start: load0, end: os.loadavg()[0]! },
    },
    metrics,
    phases,
    errors,
    runs,
  };
  fs.mkdirSync(outDir, { recursive: true });
  const base = quick ? 'quick-' : '';
  const md = toMarkdown(report);
  fs.writeFileSync(path.join(outDir, `${base}latest.json`), `${JSON.stringify(report, null, 1)}\n`);
  fs.writeFileSync(path.join(outDir, `${base}latest.md`), md);
  fs.writeFileSync(path.join(outDir, `${base}ratios.svg`), toSvg(report));
  process.stdout.write(md);
  log(`bench: wrote ${path.join(outDir, `${base}latest.{json,md}`)} and ${base}ratios.svg in ${report.meta.durationS.toFixed(0)} s`);
}

main().catch((err: unknown) => {
  killAllServers();
  log(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
