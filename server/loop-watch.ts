// An opt-in event-loop watchdog for measurements (bench/cluster.ts): with OVSDB_TS_LOOP_WARN_MS=N set, every
// stretch of N ms or more during which the loop ran no timers (one long turn, or several back to back) is
// logged as `timeval|WARN|event loop blocked for M ms (C ms on CPU)`. A Raft member must never block for as
// long as its election timer, or its peers start elections; the bench reports the longest block per phase.
//
// A short interval timer measures the lateness of its own firings: a firing late by L ms means the loop
// was busy (or the process was not scheduled) for about L ms. C is the main thread's own CPU time meanwhile
// (Linux schedstat): on a machine shared with other work, L also counts time spent waiting for a CPU, and
// C is the part that is this process's work. Off by default (a timer firing every few ms costs CPU).
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { RpcLog } from './jsonrpc.ts';

const TICK_MS = 5;

export function loopWatchThreshold(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = Number(env['OVSDB_TS_LOOP_WARN_MS']);
  return Number.isFinite(v) && v > 0 ? v : null;
}

/** Nanoseconds the main thread has run, or null where /proc does not tell. */
function mainThreadRuntime(): number | null {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'latin1').split(' ')[0]);
  } catch {
    return null;
  }
}

/** Starts the watchdog when OVSDB_TS_LOOP_WARN_MS is set; returns a function that stops it. */
export function startLoopWatch(log: RpcLog, threshold = loopWatchThreshold()): () => void {
  if (threshold === null) return () => {};
  let last = performance.now();
  let lastRun = mainThreadRuntime();
  const timer = setInterval(() => {
    const now = performance.now();
    const run = mainThreadRuntime();
    const late = now - last - TICK_MS;
    if (late >= threshold) {
      const cpu = run !== null && lastRun !== null ? ` (${Math.round((run - lastRun) / 1e6)} ms on CPU)` : '';
      log('timeval', 'WARN', `event loop blocked for ${Math.round(late)} ms${cpu}`);
    }
    last = now;
    lastRun = run;
  }, TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
