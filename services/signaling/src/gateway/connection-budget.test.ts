import { expect, it } from 'vitest';
import { ConnectionBudget } from './connection-budget.ts';

it('allows the rule’s events per window, then refuses until the window ends', () => {
  let now = 1000;
  const budget = new ConnectionBudget({ eventRate: { points: 3, durationSeconds: 1 }, maxInFlight: 10, now: () => now });
  expect([budget.spendEvent(), budget.spendEvent(), budget.spendEvent()]).toEqual([undefined, undefined, undefined]);
  now += 400;
  expect(budget.spendEvent()).toEqual({ code: 'rate_limited', message: 'Too many events on this connection', retryAfterMs: 600 });
  now += 600;
  expect(budget.spendEvent()).toBeUndefined();
});

it('refuses to start more than maxInFlight events, and starts again once one finishes', () => {
  const budget = new ConnectionBudget({ eventRate: { points: 100, durationSeconds: 1 }, maxInFlight: 2 });
  expect([budget.start(), budget.start()]).toEqual([undefined, undefined]);
  expect(budget.start()).toMatchObject({ code: 'rate_limited', retryAfterMs: 100 });
  budget.finish();
  expect(budget.start()).toBeUndefined();
  expect(budget.start()).toMatchObject({ code: 'rate_limited' });
});
