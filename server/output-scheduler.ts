// Deferred output (monitor updates) leaves in rounds: one write per connection per round, however many
// commits happened since the last one. A write per notification costs a syscall on both ends; under a burst
// of commits fanned out to many clients that, not the update itself, is the cost.
//
// Pacing: a round starts at the end of the current event-loop turn (setImmediate) unless the previous round
// was recent: the next may start only after (peers the last round wrote to) × PER_PEER_US and after as long
// as the last round took. An update to a few peers (a replication backup, a northd) leaves at once even
// under a stream of commits; a round to 200 monitors waits about 5 ms, so under a burst each of them gets
// one write carrying the updates of several commits, and at most about half the time goes to writing.
import { performance } from 'node:perf_hooks';

export interface DeferredOutput {
  /** Writes everything queued for this peer; false if there was nothing to write after all. */
  flushDeferred(): boolean;
}

let queue: DeferredOutput[] = [];
let scheduled = false;
let lastStart = -Infinity;
let lastEnd = 0;
let lastDuration = 0;
let lastPeers = 0;

/** Gap after a round per peer it wrote to, µs (OVSDB_TS_UPDATE_PACING_US overrides; 0 = by duration only). */
const PER_PEER_MS = Number(process.env['OVSDB_TS_UPDATE_PACING_US'] ?? 25) / 1000;

/** Below this the wait is not worth a timer (Node timers have 1 ms resolution). */
const MIN_WAIT_MS = 0.5;

/** Queue `out` for the next round (the caller queues each peer once until it is flushed). */
export function scheduleOutput(out: DeferredOutput): void {
  queue.push(out);
  if (scheduled) return;
  scheduled = true;
  const wait = Math.max(lastStart + lastPeers * PER_PEER_MS, lastEnd + lastDuration) - performance.now();
  if (wait < MIN_WAIT_MS) setImmediate(runRound);
  else setTimeout(runRound, wait);
}

function runRound(): void {
  const start = performance.now();
  lastStart = start;
  const list = queue;
  queue = [];
  scheduled = false;
  // Peers that had nothing to write (a commit their conditions filter out) cost no write: not counted.
  let peers = 0;
  for (const out of list) if (out.flushDeferred()) peers++;
  lastPeers = peers;
  lastEnd = performance.now();
  lastDuration = lastEnd - start;
}
