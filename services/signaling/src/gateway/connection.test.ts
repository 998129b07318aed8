import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpiryWatch } from './connection.ts';
import type { ParleySocket } from './socket-server.ts';

/** A socket that records what it was told and whether it was closed. */
function socket(expiresAt: number) {
  const told: unknown[] = [];
  let closed = false;
  const fake = {
    data: { expiresAt },
    emit: (event: string, payload: unknown) => (told.push([event, payload]), true),
    disconnect: () => void (closed = true),
  };
  return { socket: fake as unknown as ParleySocket, told, closed: () => closed };
}

describe('ExpiryWatch', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => void vi.useRealTimers());

  it('ends each connection within a second after its expiry, never before, saying so first', () => {
    const watch = new ExpiryWatch(() => Date.now());
    const early = socket(1_001_500);
    const late = socket(1_004_200);
    watch.watch(late.socket);
    watch.watch(early.socket);
    vi.advanceTimersByTime(1499);
    expect(early.closed()).toBe(false);
    vi.advanceTimersByTime(501);
    expect(early.told).toEqual([['session:ended', { reason: 'expired' }]]);
    expect(early.closed()).toBe(true);
    expect(late.closed()).toBe(false);
    vi.advanceTimersByTime(2199);
    expect(late.closed()).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(late.told).toEqual([['session:ended', { reason: 'expired' }]]);
    expect(late.closed()).toBe(true);
  });

  it('ends at once a connection whose token expired during its handshake', () => {
    const watch = new ExpiryWatch(() => Date.now());
    const expired = socket(999_000);
    watch.watch(expired.socket);
    vi.advanceTimersByTime(0);
    expect(expired.closed()).toBe(true);
  });

  it('leaves alone a connection it was told to forget, and the others of its second', () => {
    const watch = new ExpiryWatch(() => Date.now());
    const gone = socket(1_002_000);
    const stays = socket(1_002_000);
    watch.watch(gone.socket);
    watch.watch(stays.socket);
    watch.forget(gone.socket);
    vi.advanceTimersByTime(3000);
    expect(gone.told).toEqual([]);
    expect(gone.closed()).toBe(false);
    expect(stays.closed()).toBe(true);
  });

  it('does not watch expiries beyond what a timer can wait for', () => {
    const watch = new ExpiryWatch(() => Date.now());
    const distant = socket(1_000_000 + 2 ** 31 + 1000);
    watch.watch(distant.socket);
    expect(vi.getTimerCount()).toBe(0);
  });
});
