// Deferred output (monitor updates) leaves in rounds: one write per connection per round, however many
// commits happened since the last one. A write per notification costs a syscall on both ends; under a burst
// of commits fanned out to many clients that, not the update itself, is the cost.
//
// Pacing: a round starts at the end of the current event-loop turn (setImmediate) when the previous one
// started at least PERIOD ms ago and ended at least its own duration ago; otherwise it waits until both hold.
// So an update on an idle server leaves at once; under a stream of commits, each connection gets at most one
// write per PERIOD (the updates of the commits in between share it), and a server busy with fan-out spends
// at most about half its time writing updates while commits keep running.
import { performance } from 'node:perf_hooks';

export interface DeferredOutput {
  /** Writes everything queued for this peer. */
  flushDeferred(): void;
}

let queue: DeferredOutput[] = [];
let scheduled = false;
let lastStart = -Infinity;
let lastEnd = 0;
let lastDuration = 0;

/** Shortest time between two rounds, ms (OVSDB_TS_UPDATE_PERIOD_MS overrides; 0 = pace by duration only). */
const PERIOD_MS = Number(process.env['OVSDB_TS_UPDATE_PERIOD_MS'] ?? 5);

/** Below this the wait is not worth a timer (Node timers have 1 ms resolution). */
const MIN_WAIT_MS = 0.5;

/** Queue `out` for the next round (the caller queues each peer once until it is flushed). */
export function scheduleOutput(out: DeferredOutput): void {
  queue.push(out);
  if (scheduled) return;
  scheduled = true;
  const wait = Math.max(lastStart + PERIOD_MS, lastEnd + lastDuration) - performance.now();
  if (wait < MIN_WAIT_MS) setImmediate(runRound);
  else setTimeout(runRound, wait);
}

function runRound(): void {
  const start = performance.now();
  lastStart = start;
  const list = queue;
  queue = [];
  scheduled = false;
  for (const out of list) out.flushDeferred();
  lastEnd = performance.now();
  lastDuration = lastEnd - start;
}
