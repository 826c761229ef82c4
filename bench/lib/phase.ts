// One measured phase of a scenario: wall time, server CPU (from /proc), load-generator CPU and how busy the
// generator's event loops were, so a phase limited by the generator rather than the server can be flagged.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ServerHandle } from './server.ts';
import type { GeneratorPool } from './workers.ts';

export type Better = 'lower' | 'higher' | 'info';

export interface Metric {
  value: number;
  unit: string;
  better: Better;
}

export interface PhaseResult {
  phase: string;
  wallMs: number;
  serverCpuMs: number;
  /** CPU of the whole benchmark process (main thread and all generator workers). */
  genCpuMs: number;
  /** Highest event-loop utilization among the generator threads that took part (0..1). */
  genElu: number;
  /** The generator, not the server, limited this phase (a generator thread was ≥ 90% busy). */
  genBound: boolean;
  /** Server and generator together used ≥ 90% of all cores: the machine itself was the limit. */
  machineBound: boolean;
  metrics: Record<string, Metric>;
}

/** Scale of every scenario; quick mode is about 10× smaller. */
export interface Scale {
  seqTxns: number;
  pipeTxns: number;
  pipeDepth: number;
  multiClients: number;
  multiTxns: number;
  bigTxnRows: number;
  bulkRows: number;
  bulkBatch: number;
  fanClients: number;
  fanUpdates: number;
}

export const FULL_SCALE: Scale = {
  seqTxns: 10_000,
  pipeTxns: 20_000,
  pipeDepth: 64,
  multiClients: 16,
  multiTxns: 20_000,
  bigTxnRows: 20_000,
  bulkRows: 100_000,
  bulkBatch: 1000,
  fanClients: 200,
  fanUpdates: 1000,
};

export const QUICK_SCALE: Scale = {
  seqTxns: 1000,
  pipeTxns: 2000,
  pipeDepth: 64,
  multiClients: 16,
  multiTxns: 2000,
  bigTxnRows: 2000,
  bulkRows: 10_000,
  bulkBatch: 1000,
  fanClients: 50,
  fanUpdates: 400,
};

export interface ScenarioContext {
  server: ServerHandle;
  scale: Scale;
  pool: GeneratorPool;
  /** Completed phases are recorded as they finish, so a later failure keeps the earlier results. */
  record(result: PhaseResult): void;
  log(msg: string): void;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: ScenarioContext): Promise<void>;
}

export interface PhaseOutcome {
  metrics: Record<string, Metric>;
  /** Event-loop utilizations reported by generator workers for this phase. */
  workerElu?: number[];
}

const GEN_BOUND_ELU = 0.9;
const MACHINE_BOUND_SHARE = 0.9;

/** Runs `body` and wraps its metrics with wall time, CPU and bottleneck flags. */
export async function measurePhase(
  server: ServerHandle,
  phase: string,
  body: () => Promise<PhaseOutcome>,
): Promise<PhaseResult> {
  const cpu0 = process.cpuUsage();
  // A server that is not running yet (restart phase) has used no CPU so far.
  const srv0 = server.running ? server.cpuMs() : 0;
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const out = await body();
  const wallMs = performance.now() - t0;
  const mainElu = performance.eventLoopUtilization(elu0).utilization;
  const srv1 = server.cpuMs();
  const cpu = process.cpuUsage(cpu0);
  const genCpuMs = (cpu.user + cpu.system) / 1000;
  const serverCpuMs = srv1 - srv0;
  const genElu = Math.max(mainElu, ...(out.workerElu ?? []));
  const cores = os.availableParallelism();
  return {
    phase,
    wallMs,
    serverCpuMs,
    genCpuMs,
    genElu,
    genBound: genElu >= GEN_BOUND_ELU,
    machineBound: wallMs > 0 && (serverCpuMs + genCpuMs) / wallMs >= MACHINE_BOUND_SHARE * cores,
    metrics: out.metrics,
  };
}

export function metric(value: number, unit: string, better: Better): Metric {
  return { value, unit, better };
}
