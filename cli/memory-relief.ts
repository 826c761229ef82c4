// Gives memory back after bursts. V8 collects when allocation asks for it, not when the process goes quiet, and
// keeps its young generation at the size a burst grew it to: after 1,000 connections come and go, or a 64 MiB
// transaction, the server's RSS stayed at several times its live heap until the next burst (bench/memory.ts).
// So: when enough JSON-RPC traffic passed since the last such collection (server/traffic.ts) and the event
// loop has been idle for 2 s, run a full collection, then return free malloc pages to the OS with
// malloc_trim(0) (as the reference does after compaction with ovsdb-server/memory-trim-on-compaction); if the
// young generation is still grown, once more after 6 more quiet seconds: V8 shrinks it in a collection only
// when the allocation rate it sampled over the last 5 s (samples are taken at collections) is low. And right
// after a large message (≥ 16 MiB and a quarter of the live heap) was handled or written, at once, unless
// less than its size of traffic passed since the last collection (one 64 MiB update written to 100 peers
// is collected once): its text, chunks, parsed copy and encoded record are garbage the size of the message,
// several times over; collected before the monitor updates of its commit are composed (they are written in
// the next output round), the peak is lower by that much.
//
// Needs node's --expose-gc (bin/ovsdb-server passes it); without it this does nothing.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import v8 from 'node:v8';
import { setLargeMessageHook, trafficBytes } from '../server/traffic.ts';
import { libc } from './libc.ts';

/** Collect after at least this much traffic, or the live heap's size if larger (a full GC costs ∝ heap). */
export const RELIEF_MIN_BYTES = 1024 * 1024;
/** Event-loop utilization below which a second counts as idle. */
export const RELIEF_IDLE_ELU = 0.05;
/** Idle seconds in a row before collecting. */
export const RELIEF_IDLE_SECONDS = 2;
/** Idle seconds in a row after that collection before the one that lets V8 shrink its young generation. */
export const RELIEF_SHRINK_SECONDS = 6;
/** The young generation's smallest size (two 512 KiB semi-spaces): nothing left to shrink. */
const MIN_NEW_SPACE = 1024 * 1024;
const CHECK_MS = 1000;

export interface MemoryRelief {
  /** Collections run so far. */
  readonly runs: number;
  stop(): void;
}

type Gc = () => void;

function mallocTrim(): (() => void) | null {
  try {
    const trim = libc().func('int malloc_trim(size_t pad)') as (pad: number) => number;
    return () => void trim(0);
  } catch {
    return null; // not glibc, or koffi unavailable: the collection alone still helps
  }
}

function newSpaceSize(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

/** Event-loop utilization since the previous call (0 = idle, 1 = busy throughout). */
export type BusySampler = () => number;

function eluSampler(): BusySampler {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return busy;
  };
}

/** What the relief reads of the process (replaceable in tests). */
export interface ReliefProbes {
  readonly busySince?: BusySampler;
  /** Bytes of the young generation (V8's new space) now. */
  readonly youngGeneration?: () => number;
}

/** Starts the idle check (an unref'd timer: it never keeps the process alive). */
export function startMemoryRelief(gc: Gc | undefined = (globalThis as { gc?: Gc }).gc, probes: ReliefProbes = {}): MemoryRelief | null {
  if (gc === undefined) return null;
  const busySince = probes.busySince ?? eluSampler();
  const youngGeneration = probes.youngGeneration ?? newSpaceSize;
  let trim: (() => void) | null | undefined;
  let live = v8.getHeapStatistics().used_heap_size;
  /** Traffic at the last collection of either kind, and at the last idle one (a large-message collection
   * happens amid work that grew the young generation: the idle one still comes after it). */
  let trafficAtLast = trafficBytes();
  let trafficAtIdle = trafficAtLast;
  let runs = 0;
  let idleSeconds = 0;
  /** After an idle collection: the idle second at which to collect again if the young generation is grown. */
  let shrinkAt: number | null = null;
  const collect = () => {
    gc();
    trim ??= mallocTrim();
    trim?.();
    runs++;
    trafficAtLast = trafficBytes();
    live = v8.getHeapStatistics().used_heap_size;
    busySince(); // the collection itself is not load
    idleSeconds = 0;
  };
  const timer = setInterval(() => {
    if (busySince() >= RELIEF_IDLE_ELU) {
      idleSeconds = 0;
      shrinkAt = null; // the next quiet spell starts over
      return;
    }
    idleSeconds++;
    if (shrinkAt !== null) {
      if (idleSeconds < shrinkAt) return;
      shrinkAt = null;
      if (youngGeneration() > MIN_NEW_SPACE) collect();
      return;
    }
    if (idleSeconds < RELIEF_IDLE_SECONDS) return;
    if (trafficBytes() - trafficAtIdle < Math.max(RELIEF_MIN_BYTES, live)) return;
    collect();
    trafficAtIdle = trafficAtLast;
    shrinkAt = RELIEF_SHRINK_SECONDS;
  }, CHECK_MS);
  timer.unref();
  setLargeMessageHook((chars) => {
    if (chars * 4 >= live && trafficBytes() - trafficAtLast >= chars) collect();
  });
  return {
    get runs() {
      return runs;
    },
    stop: () => {
      clearInterval(timer);
      setLargeMessageHook(null);
    },
  };
}
