import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiterFactory, RedisRateLimiterFactory } from '../src/rate-limit/rate-limiter.adapters.ts';
import type { RateLimiterFactory } from '../src/rate-limit/rate-limiter.ts';

const namespace = createRedisNamespace();
const connections: Redis[] = [];
function redisFactory(): RateLimiterFactory {
  const redis = new Redis(redisUrl());
  connections.push(redis);
  return new RedisRateLimiterFactory(redis, namespace.prefix);
}
afterAll(async () => {
  await namespace.cleanup();
  for (const redis of connections) redis.disconnect();
});

const implementations: Array<[string, () => RateLimiterFactory]> = [
  ['memory (embedded)', () => new MemoryRateLimiterFactory()],
  ['redis (cluster)', redisFactory],
];

describe.each(implementations)('rate limiter: %s', (_name, makeFactory) => {
  it('allows the rule’s points, then refuses with the time until the window frees up', async () => {
    const limiter = makeFactory().create(`contract-${crypto.randomUUID()}`, { points: 3, durationSeconds: 60 });
    const verdicts = [];
    for (let i = 0; i < 5; i++) verdicts.push(await limiter.consume('user-1'));
    expect(verdicts.slice(0, 3)).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
    for (const verdict of verdicts.slice(3)) {
      expect(verdict.allowed).toBe(false);
      const { retryAfterMs } = verdict as { retryAfterMs: number };
      expect(retryAfterMs).toBeGreaterThan(55_000);
      expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    }
  });

  it('counts each key and each named limiter separately', async () => {
    const factory = makeFactory();
    const name = `contract-${crypto.randomUUID()}`;
    const limiter = factory.create(name, { points: 1, durationSeconds: 60 });
    const other = factory.create(`${name}-other`, { points: 1, durationSeconds: 60 });
    expect(await limiter.consume('a')).toEqual({ allowed: true });
    expect(await limiter.consume('b')).toEqual({ allowed: true });
    expect(await other.consume('a')).toEqual({ allowed: true });
    expect((await limiter.consume('a')).allowed).toBe(false);
  });

  it('counts concurrent attempts exactly', async () => {
    const limiter = makeFactory().create(`contract-${crypto.randomUUID()}`, { points: 10, durationSeconds: 60 });
    const verdicts = await Promise.all(Array.from({ length: 25 }, () => limiter.consume('burst')));
    expect(verdicts.filter((verdict) => verdict.allowed)).toHaveLength(10);
  });
});

describe('rate limiter: redis (cluster) across pods', () => {
  it('shares one budget between limiters of separate connections, as pods do', async () => {
    const name = `shared-${crypto.randomUUID()}`;
    const podA = redisFactory().create(name, { points: 4, durationSeconds: 60 });
    const podB = redisFactory().create(name, { points: 4, durationSeconds: 60 });
    const verdicts = await Promise.all([podA, podB, podA, podB, podA, podB].map((limiter) => limiter.consume('user')));
    expect(verdicts.filter((verdict) => verdict.allowed)).toHaveLength(4);
  });
});
