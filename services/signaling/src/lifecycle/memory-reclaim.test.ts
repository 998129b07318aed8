import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryReclaim, memoryReducingGc } from './memory-reclaim.ts';

describe('MemoryReclaim', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function reclaim() {
    const collect = vi.fn();
    return { collect, reclaim: new MemoryReclaim({ afterConnections: 3, quietMs: 1000, collect, logger: pino({ level: 'silent' }) }) };
  }

  it('collects once, when a burst of enough connections has been quiet for quietMs', () => {
    const { collect, reclaim: memory } = reclaim();
    memory.connectionOpened();
    memory.connectionOpened();
    vi.advanceTimersByTime(5000);
    expect(collect).not.toHaveBeenCalled(); // too few to matter

    memory.connectionOpened();
    vi.advanceTimersByTime(999);
    memory.connectionOpened(); // the burst goes on
    vi.advanceTimersByTime(999);
    expect(collect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(collect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(collect).toHaveBeenCalledTimes(1);
  });

  it('counts the next burst afresh, and never collects once stopped', () => {
    const { collect, reclaim: memory } = reclaim();
    for (let index = 0; index < 3; index += 1) memory.connectionOpened();
    vi.advanceTimersByTime(1000);
    expect(collect).toHaveBeenCalledTimes(1);

    memory.connectionOpened();
    memory.connectionOpened();
    vi.advanceTimersByTime(2000);
    expect(collect).toHaveBeenCalledTimes(1);
    memory.connectionOpened();
    vi.advanceTimersByTime(1000);
    expect(collect).toHaveBeenCalledTimes(2);

    for (let index = 0; index < 3; index += 1) memory.connectionOpened();
    memory.stop();
    vi.advanceTimersByTime(5000);
    expect(collect).toHaveBeenCalledTimes(2);
  });

  it('obtains V8\'s collector at run time, without a command-line flag', () => {
    vi.useRealTimers();
    expect(() => memoryReducingGc()()).not.toThrow();
  });
});
