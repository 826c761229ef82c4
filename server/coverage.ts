// Coverage counters (`coverage/show`, `coverage/read-counter`): process-wide event counts, with the
// reference's averaging and report format. Only events we really have are counted: listeners opened
// (pstream_open), connections made (stream_open), unixctl requests and replies, lock files taken, failed
// and released. The reference also counts its own internals (hash maps, allocations, poll loop), which
// have no counterpart here.
import { ovsIntHash, ovsStringHashBasis } from '../schema/ovs-order.ts';

/** In the reference's report order (its registration order). */
export const COVERAGE_NAMES = [
  'lockfile_lock',
  'lockfile_error',
  'lockfile_unlock',
  'pstream_open',
  'stream_open',
  'unixctl_received',
  'unixctl_replied',
] as const;
export type CoverageName = (typeof COVERAGE_NAMES)[number];

/** Samples every RUN_INTERVAL ms: the last minute in 12 slots, the last hour in 60 (as the reference). */
const RUN_INTERVAL = 5000;
const MIN_LEN = 60_000 / RUN_INTERVAL;
const HR_LEN = 60;

interface Counter {
  readonly name: CoverageName;
  total: number;
  lastTotal: number;
  readonly min: number[];
  readonly hr: number[];
}

const counters = new Map<CoverageName, Counter>(
  COVERAGE_NAMES.map((name) => [name, { name, total: 0, lastTotal: 0, min: new Array<number>(MIN_LEN).fill(0), hr: new Array<number>(HR_LEN).fill(0) }]),
);
let idx = 0;
let nextRun = -1;

export function coverageInc(name: CoverageName): void {
  counters.get(name)!.total++;
}

/** Folds the counts since the last run into the averages; call about every 5 s (extra calls are cheap). */
export function coverageRun(now: number = Date.now()): void {
  if (nextRun < 0) nextRun = now + RUN_INTERVAL;
  if (now < nextRun) return;
  // The intervals missed are given an even share of the count.
  const slots = Math.floor((now - nextRun) / RUN_INTERVAL) + 1;
  for (const c of counters.values()) {
    const count = c.total - c.lastTotal;
    c.lastTotal = c.total;
    const portion = Math.floor(count / slots);
    let k = idx;
    for (let j = 0; j < slots; j++) {
      const m = k % MIN_LEN;
      const h = Math.floor(k / MIN_LEN);
      c.min[m] = portion + (j === slots - 1 ? count % slots : 0);
      c.hr[h] = m === 0 ? c.min[m] : c.hr[h] + c.min[m];
      k = (k + 1) % (MIN_LEN * HR_LEN);
    }
  }
  idx = (idx + slots) % (MIN_LEN * HR_LEN);
  nextRun += slots * RUN_INTERVAL;
}

/** The reference's hash of the counters: names grouped by equal totals, largest first. */
function coverageHash(): number {
  const list = [...counters.values()].sort((a, b) => (a.total !== b.total ? b.total - a.total : a.name < b.name ? -1 : 1));
  let hash = 0;
  let groups = 0;
  for (let i = 0; i < list.length; ) {
    if (list[i].total === 0) break;
    groups++;
    hash = ovsIntHash(i, hash);
    let j = i;
    for (; j < list.length && list[j].total === list[i].total; j++) hash = ovsStringHashBasis(list[j].name, hash);
    i = j;
  }
  return ovsIntHash(groups, hash);
}

const sum = (a: readonly number[]) => a.reduce((x, y) => x + y, 0);

/** The `coverage/show` text. */
export function coverageShow(): string {
  const lines = [
    `Event coverage, avg rate over last: ${RUN_INTERVAL / 1000} seconds, last minute, last hour,  hash=${coverageHash().toString(16).padStart(8, '0')}:`,
  ];
  let neverHit = 0;
  for (const c of counters.values()) {
    if (c.total === 0) {
      neverHit++;
      continue;
    }
    const last = (c.min[(idx + MIN_LEN * HR_LEN - 1) % MIN_LEN] * 1000) / RUN_INTERVAL;
    lines.push(
      `${c.name.padEnd(24)} ${last.toFixed(1).padStart(5)}/sec ${(sum(c.min) / 60).toFixed(3).padStart(9)}/sec ${(sum(c.hr) / 3600).toFixed(4).padStart(13)}/sec   total: ${c.total}`,
    );
  }
  lines.push(`${neverHit} events never hit`);
  return lines.map((l) => `${l}\n`).join('');
}

/** `coverage/read-counter NAME`: the total, or null for an unknown name. */
export function coverageRead(name: string): number | null {
  return counters.get(name as CoverageName)?.total ?? null;
}
