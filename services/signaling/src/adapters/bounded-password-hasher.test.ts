import { expect, it } from 'vitest';
import type { PasswordHasher } from '../domain/accounts/password-hasher.ts';
import type { AppError } from '../errors.ts';
import { BoundedPasswordHasher } from './bounded-password-hasher.ts';

/** A hasher whose calls finish only when the test releases them. */
function gatedHasher() {
  const gates: Array<() => void> = [];
  let running = 0;
  let peak = 0;
  const hasher: PasswordHasher = {
    hash: async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running -= 1;
      return 'hash';
    },
    verify: async () => true,
    needsRehash: () => false,
  };
  return { hasher, gates, peak: () => peak };
}

it('runs at most `concurrency` hashes at once and refuses beyond the queue', async () => {
  const inner = gatedHasher();
  let rejected = 0;
  const bounded = new BoundedPasswordHasher(inner.hasher, { concurrency: 2, queueMax: 3, onRejected: () => (rejected += 1) });

  const admitted = Array.from({ length: 5 }, () => bounded.hash('pw'));
  const refused = await bounded.hash('pw').catch((error: AppError) => error);
  expect(refused).toMatchObject({ code: 'unavailable', retryAfterMs: 1000 });
  expect(rejected).toBe(1);

  // Release every gate as it appears until all five admitted hashes finish.
  let finished = 0;
  void Promise.all(admitted).then(() => (finished = 5));
  while (finished < 5) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    inner.gates.splice(0).forEach((release) => release());
  }
  expect(await Promise.all(admitted)).toEqual(Array(5).fill('hash'));
  expect(inner.peak()).toBe(2);

  // With the queue drained, new work is admitted again.
  const again = bounded.hash('pw');
  await new Promise((resolve) => setTimeout(resolve, 1));
  inner.gates.splice(0).forEach((release) => release());
  expect(await again).toBe('hash');
});
