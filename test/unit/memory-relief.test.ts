// cli/memory-relief.ts: when the server collects garbage on its own (with an injected gc to count calls).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RELIEF_IDLE_SECONDS, RELIEF_MIN_BYTES, startMemoryRelief, type MemoryRelief } from '../../cli/memory-relief.ts';
import { LARGE_MESSAGE_CHARS, noteLargeMessage, noteTraffic } from '../../server/traffic.ts';

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
    noteTraffic(LARGE_MESSAGE_CHARS);
    noteLargeMessage(LARGE_MESSAGE_CHARS); // received and handled
    expect(gc).toHaveBeenCalledTimes(1);
    noteLargeMessage(LARGE_MESSAGE_CHARS); // the same bytes again (e.g. written to a second peer): no new traffic
    expect(gc).toHaveBeenCalledTimes(1);
    noteTraffic(LARGE_MESSAGE_CHARS);
    noteLargeMessage(LARGE_MESSAGE_CHARS);
    expect(gc).toHaveBeenCalledTimes(2);
    expect(relief.runs).toBe(2);
  });

  it('collects after traffic once the event loop has been idle for 5 s, not before', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const gc = vi.fn();
    let busy = 0;
    relief = startMemoryRelief(gc, () => busy)!;
    noteTraffic(RELIEF_MIN_BYTES * 64);
    busy = 0.5;
    vi.advanceTimersByTime(RELIEF_IDLE_SECONDS * 1000 * 2);
    expect(gc).not.toHaveBeenCalled(); // traffic, but never idle
    busy = 0.01;
    vi.advanceTimersByTime(RELIEF_IDLE_SECONDS * 1000);
    expect(gc).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(RELIEF_IDLE_SECONDS * 1000 * 2);
    expect(gc).toHaveBeenCalledTimes(1); // idle, but nothing new to collect
    noteTraffic(RELIEF_MIN_BYTES * 64);
    busy = 0.5;
    vi.advanceTimersByTime(1000); // the traffic kept the loop busy for a second
    busy = 0.01;
    vi.advanceTimersByTime((RELIEF_IDLE_SECONDS - 1) * 1000);
    expect(gc).toHaveBeenCalledTimes(1); // not idle for 5 s yet
    vi.advanceTimersByTime(1000);
    expect(gc).toHaveBeenCalledTimes(2);
  });
});
