// An opt-in event-loop watchdog for measurements (bench/cluster.ts): with OVSDB_TS_LOOP_WARN_MS=N set, every
// stretch of N ms or more during which the loop ran no timers (one long turn, or several back to back) is
// logged as `timeval|WARN|event loop blocked for M ms`. A Raft member must never block for as long as its
// election timer, or its peers start elections; the bench reports the longest block of each phase.
//
// A short interval timer measures the lateness of its own firings: a firing late by L ms means the loop
// was busy for about L ms. Off by default (a timer firing every few ms costs CPU that nothing else needs).
import { performance } from 'node:perf_hooks';
import type { RpcLog } from './jsonrpc.ts';

const TICK_MS = 5;

export function loopWatchThreshold(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = Number(env['OVSDB_TS_LOOP_WARN_MS']);
  return Number.isFinite(v) && v > 0 ? v : null;
}

/** Starts the watchdog when OVSDB_TS_LOOP_WARN_MS is set; returns a function that stops it. */
export function startLoopWatch(log: RpcLog, threshold = loopWatchThreshold()): () => void {
  if (threshold === null) return () => {};
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - TICK_MS;
    last = now;
    if (late >= threshold) log('timeval', 'WARN', `event loop blocked for ${Math.round(late)} ms`);
  }, TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
