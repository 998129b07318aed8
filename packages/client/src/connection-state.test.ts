import { expect, it } from 'vitest';
import { reconnectDelay, RECONNECT_BASE_MS, RECONNECT_MAX_MS } from './connection-state.ts';

const samples = (attempt: number, retryAfterMs?: number) =>
  Array.from({ length: 500 }, () => reconnectDelay(attempt, retryAfterMs));

it('waits a random time up to a ceiling that doubles from 500 ms to 5 s', () => {
  for (const [attempt, ceiling] of [
    [1, RECONNECT_BASE_MS],
    [2, 2 * RECONNECT_BASE_MS],
    [4, 8 * RECONNECT_BASE_MS],
    [5, RECONNECT_MAX_MS],
    [30, RECONNECT_MAX_MS],
  ] as const) {
    const delays = samples(attempt);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(ceiling);
    // Full jitter: spread over the whole range, not bunched at its top.
    expect(Math.min(...delays)).toBeLessThan(ceiling / 2);
  }
});

it('never waits less than the server asked', () => {
  expect(Math.min(...samples(1, 3000))).toBe(3000);
  expect(Math.min(...samples(6, 12_000))).toBe(12_000);
});
