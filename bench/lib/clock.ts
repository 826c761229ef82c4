// A sub-millisecond clock that agrees across worker threads (each thread's performance.now() has its own
// origin, but timeOrigin + now() is on one shared time base), used to stamp updates and measure delivery.
import { performance } from 'node:perf_hooks';

export function nowAbs(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
