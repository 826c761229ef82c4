// Deferred output (monitor updates) leaves in rounds: one write per connection per round, however many
// commits happened since the last one. A write per notification costs a syscall on both ends; under a burst
// of commits fanned out to many clients that, not the update itself, is the cost.
//
// Ordering, as the reference: a client's transaction reply leaves only after every monitor's update of its
// commit was written, so a client that saw the reply and then reads from another connection finds the update
// there (the upstream IDL tests depend on it). The committing connection is held until the round, and a
// round with held replies runs at the end of the current event-loop turn; its commits (all those of one
// turn, as the reference merges the commits of one main-loop pass) reach each monitor as one update.
//
// Pacing applies to rounds without held replies (commits of replication, db: remote status, `_Server`): such
// a round starts at the end of the current turn unless the previous round was recent: the next may start
// only after (peers the last round wrote to) × PER_PEER_US and after as long as the last round took. An
// update to a few peers (a replication backup, a northd) leaves at once even under a stream of commits; a
// round to 200 monitors waits about 5 ms, so under a burst each of them gets one write carrying the updates
// of several commits, and at most about half the time goes to writing.
import { performance } from 'node:perf_hooks';

export interface DeferredOutput {
  /** Writes everything queued for this peer; false if there was nothing to write after all. */
  flushDeferred(): boolean;
}

/** A connection whose writes wait for the next round (see hold()). */
export interface HeldOutput {
  /** Stop writing: queued messages wait for release(). */
  hold(): void;
  /** Write what waited, in order, and write at once again. */
  release(): void;
}

let queue: DeferredOutput[] = [];
let held: HeldOutput[] = [];
let timer: NodeJS.Timeout | null = null;
let immediate: NodeJS.Immediate | null = null;
let lastStart = -Infinity;
let lastEnd = 0;
let lastDuration = 0;
let lastPeers = 0;

/** Gap after a round per peer it wrote to, µs (OVSDB_TS_UPDATE_PACING_US overrides; 0 = by duration only). */
const PER_PEER_MS = Number(process.env['OVSDB_TS_UPDATE_PACING_US'] ?? 25) / 1000;

/**
 * OVSDB_TS_UPDATE_ORDER=relaxed: replies are not held for the round, which then stays paced, so a writer may
 * see its reply before other monitors got the update (it follows within one round). Faster fan-out to many
 * monitors from one sequential writer; the default keeps the reference's order.
 */
export const HOLD_REPLIES = process.env['OVSDB_TS_UPDATE_ORDER'] !== 'relaxed';

/** Below this the wait is not worth a timer (Node timers have 1 ms resolution). */
const MIN_WAIT_MS = 0.5;

/** Queue `out` for the next round (the caller queues each peer once until it is flushed). */
export function scheduleOutput(out: DeferredOutput): void {
  queue.push(out);
  if (immediate !== null || timer !== null) return;
  const wait = Math.max(lastStart + lastPeers * PER_PEER_MS, lastEnd + lastDuration) - performance.now();
  if (wait < MIN_WAIT_MS) immediate = setImmediate(runRound);
  else timer = setTimeout(runRound, wait);
}

/** True when no round is due: nothing queued, no reply held, no round scheduled (replay waits for it). */
export function outputIdle(): boolean {
  return queue.length === 0 && held.length === 0 && timer === null && immediate === null;
}

/** True while some output waits for a round (a commit has updates still to write). */
export function outputPending(): boolean {
  return queue.length > 0;
}

/**
 * Holds `conn` until the next round has written the pending updates, and runs that round at the end of
 * this turn (a reply waits on it).
 */
export function holdUntilRound(conn: HeldOutput): void {
  conn.hold();
  held.push(conn);
  if (immediate !== null) return;
  if (timer !== null) {
    clearTimeout(timer);
    timer = null;
  }
  immediate = setImmediate(runRound);
}

function runRound(): void {
  const start = performance.now();
  lastStart = start;
  const list = queue;
  const waiting = held;
  queue = [];
  held = [];
  timer = null;
  immediate = null;
  // Peers that had nothing to write (a commit their conditions filter out) cost no write: not counted.
  let peers = 0;
  for (const out of list) if (out.flushDeferred()) peers++;
  for (const conn of waiting) conn.release();
  lastPeers = peers;
  lastEnd = performance.now();
  lastDuration = lastEnd - start;
}
