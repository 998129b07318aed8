import { describe, expect, it } from 'vitest';
import { parseRateLimit } from './rate-limit-rule.ts';

describe('parseRateLimit', () => {
  it.each([
    ['20/10s', { points: 20, durationSeconds: 10 }],
    ['100/15m', { points: 100, durationSeconds: 900 }],
    ['5/1h', { points: 5, durationSeconds: 3600 }],
    [' 30 / 60 ', { points: 30, durationSeconds: 60 }],
  ])('reads %s', (text, rule) => {
    expect(parseRateLimit(text)).toEqual(rule);
  });

  it.each(['', '20', '0/10s', '20/0s', '20/10d', 'twenty/10s', '-1/10s'])('rejects "%s"', (text) => {
    expect(() => parseRateLimit(text)).toThrow(/is not a rate limit/);
  });
});
