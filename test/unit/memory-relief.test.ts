// cli/memory-relief.ts: when the server collects garbage on its own (with an injected gc to count calls).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RELIEF_IDLE_SECONDS, RELIEF_SHRINK_SECONDS, startMemoryRelief, type MemoryRelief } from '../../cli/memory-relief.ts';
import { noteLargeMessage, noteTraffic } from '../../server/traffic.ts';

// Sizes far above the test worker's own live heap, which the thresholds compare against.
const BIG = 256 * 1024 * 1024;
let relief: MemoryRelief | null = null;
afterEach(() => {
  relief?.stop();
  relief = null;
  vi.useRealTimers();
});

describe('memory relief', () => {
  it('does nothing without a gc function (node without --expose-gc)', () => {
    expect(startMemoryRelief(undefined)).toBeNull();
  });

  it('collects after a large message, once per its size of new traffic', () => {
    const gc = vi.fn();
    relief = startMemoryRelief(gc)!;
    noteTraffic(BIG);
    noteLargeMessage(BIG); // received and handled
    expect(gc).toHaveBeenCalledTimes(1);
    noteLargeMessage(BIG); // the same bytes again (e.g. written to a second peer): no new traffic
    expect(gc).toHaveBeenCalledTimes(1);
    noteTraffic(BIG);
    noteLargeMessage(BIG);
    expect(gc).toHaveBeenCalledTimes(2);
    expect(relief.runs).toBe(2);
  });

  it('collects after traffic once the event loop has been idle for RELIEF_IDLE_SECONDS, not before', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const gc = vi.fn();
    let busy = 0;
    const young = 1024 * 1024;
    relief = startMemoryRelief(gc, { busySince: () => busy, youngGeneration: () => young })!;
    noteTraffic(BIG);
    busy = 0.5;
    vi.advanceTimersByTime(RELIEF_IDLE_SECONDS * 1000 * 2);
    expect(gc).not.toHaveBeenCalled(); // traffic, but never idle
    busy = 0.01;
    vi.advanceTimersByTime(RELIEF_IDLE_SECONDS * 1000);
    expect(gc).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(RELIEF_IDLE_SECONDS * 1000 * 2);
    expect(gc).toHaveBeenCalledTimes(1); // idle, but nothing new to collect
    noteTraffic(BIG);
    busy = 0.5;
    vi.advanceTimersByTime(1000); // the traffic kept the loop busy for a second
    busy = 0.01;
    vi.advanceTimersByTime((RELIEF_IDLE_SECONDS - 1) * 1000);
    expect(gc).toHaveBeenCalledTimes(1); // not idle long enough yet
    vi.advanceTimersByTime(1000);
    expect(gc).toHaveBeenCalledTimes(2);
  });

  it('collects once more after RELIEF_SHRINK_SECONDS of quiet while the young generation is grown', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const gc = vi.fn();
    let busy = 0.01;
    let young = 32 * 1024 * 1024;
    relief = startMemoryRelief(gc, { busySince: () => busy, youngGeneration: () => young })!;
    noteTraffic(BIG);
    vi.advanceTimersByTime(RELIEF_IDLE_SECONDS * 1000);
    expect(gc).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime((RELIEF_SHRINK_SECONDS - 1) * 1000);
    expect(gc).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(gc).toHaveBeenCalledTimes(2); // V8 shrinks it in this one
    young = 1024 * 1024;
    vi.advanceTimersByTime(RELIEF_SHRINK_SECONDS * 1000 * 2);
    expect(gc).toHaveBeenCalledTimes(2);
    // Activity in between cancels the second one; the next quiet spell after traffic starts over.
    noteTraffic(BIG);
    young = 32 * 1024 * 1024;
    vi.advanceTimersByTime(RELIEF_IDLE_SECONDS * 1000);
    expect(gc).toHaveBeenCalledTimes(3);
    busy = 0.9;
    vi.advanceTimersByTime(1000);
    busy = 0.01;
    vi.advanceTimersByTime(RELIEF_SHRINK_SECONDS * 1000);
    expect(gc).toHaveBeenCalledTimes(3);
  });

  it('a large-message collection does not stand in for the idle one that follows', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const gc = vi.fn();
    let busy = 0.5;
    const young = 1024 * 1024; // already at its smallest: no second collection
    relief = startMemoryRelief(gc, { busySince: () => busy, youngGeneration: () => young })!;
    noteTraffic(BIG);
    noteLargeMessage(BIG); // amid the work: collected at once
    expect(gc).toHaveBeenCalledTimes(1);
    busy = 0.01;
    vi.advanceTimersByTime(RELIEF_IDLE_SECONDS * 1000);
    expect(gc).toHaveBeenCalledTimes(2); // and once quiet (V8 then shrinks its young generation)
    vi.advanceTimersByTime(RELIEF_IDLE_SECONDS * 1000 * 2);
    expect(gc).toHaveBeenCalledTimes(2);
  });
});
