import { startLocalRedis, type RedisService } from '@parley/testkit';
import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { MemoryRateLimiterFactory } from '../src/adapters/memory/rate-limiter.ts';
import { RedisRateLimiterFactory } from '../src/adapters/redis/rate-limiter.ts';
import { ReconciledRateLimiterFactory } from '../src/adapters/redis/reconciled-rate-limiter.ts';
import type { RateLimiterFactory } from '../src/rate-limit/rate-limiter.ts';
import { RedisCircuit } from '../src/adapters/redis/circuit.ts';

const namespace = createRedisNamespace();
const connections: Redis[] = [];
const logger = createLogger({ level: 'silent', format: 'json', nodeId: 'test' });

function redisFactory(url = redisUrl(), options: { commandTimeoutMs?: number; openMs?: number } = {}) {
  const redis = new Redis(url, { commandTimeout: options.commandTimeoutMs ?? 1000, maxRetriesPerRequest: 2 });
  redis.on('error', () => {});
  connections.push(redis);
  let fallbacks = 0;
  const circuit = new RedisCircuit({ redis, openMs: options.openMs ?? 5000, logger, onOpen: () => fallbacks++ });
  const factory: RateLimiterFactory = new RedisRateLimiterFactory({ redis, keyPrefix: namespace.prefix, circuit });
  return Object.assign(factory, { redis, circuit, fallbacks: () => fallbacks });
}
afterAll(async () => {
  await namespace.cleanup();
  for (const redis of connections) redis.disconnect();
});

const implementations: Array<[string, () => RateLimiterFactory]> = [
  ['memory (embedded)', () => new MemoryRateLimiterFactory()],
  ['redis (cluster)', () => redisFactory()],
  ['redis reconciled (cluster, socket events)', () => reconciledFactory()],
];

/** Counts in memory, synced to Redis every 20 ms: a pod's own consumes are counted exactly all the same. */
function reconciledFactory(): RateLimiterFactory {
  const redis = new Redis(redisUrl(), { commandTimeout: 1000, maxRetriesPerRequest: 2 });
  redis.on('error', () => {});
  connections.push(redis);
  const circuit = new RedisCircuit({ redis, openMs: 5000, logger });
  return new ReconciledRateLimiterFactory({ redis, keyPrefix: namespace.prefix, circuit, syncIntervalMs: 20 });
}

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

describe('rate limiter: redis (cluster) while Redis is unusable', () => {
  let redis: RedisService | undefined;
  afterAll(async () => {
    redis?.process?.resume();
    await redis?.stop();
  });

  it('falls back to per-pod counters within the command timeout while Redis is paused, and stops waiting on it', async () => {
    redis = await startLocalRedis();
    const factory = redisFactory(redis.url, { commandTimeoutMs: 200, openMs: 60_000 });
    const limiter = factory.create(`paused-${crypto.randomUUID()}`, { points: 3, durationSeconds: 60 });
    expect(await limiter.consume('user')).toEqual({ allowed: true });

    redis.process!.pause();
    // The first consume waits for its command to time out, then counts locally; later ones do not wait at all.
    const verdicts = [];
    for (let i = 0; i < 5; i++) verdicts.push(await limiter.consume('user'));
    expect(verdicts.map((verdict) => verdict.allowed)).toEqual([true, true, true, false, false]);
    expect(factory.fallbacks()).toBe(1);
    // Only the consume that tripped the circuit sent a command while Redis was paused.
    expect(factory.redis.commandQueue.length).toBe(1);
    redis.process!.resume();
  });

  it('falls back at once while Redis refuses connections, and shares counters again once it answers', async () => {
    const local = await startLocalRedis();
    const factory = redisFactory(local.url, { commandTimeoutMs: 5000, openMs: 100 });
    const name = `refused-${crypto.randomUUID()}`;
    const limiter = factory.create(name, { points: 2, durationSeconds: 60 });
    expect(await limiter.consume('user')).toEqual({ allowed: true });
    await local.stop();
    await waitFor(() => factory.redis.status === 'reconnecting');
    // Reconnecting: no command waits behind the reconnection attempts (it would wait up to the 5 s timeout).
    const pending = factory.redis.commandQueue.length;
    expect(await limiter.consume('user')).toEqual({ allowed: true });
    expect(factory.redis.commandQueue.length).toBe(pending);
    expect(factory.fallbacks()).toBe(1);

    const restarted = await startLocalRedis({ port: Number(new URL(local.url).port) });
    try {
      await waitFor(() => factory.redis.status === 'ready');
      // Redis lost its counters with its process; counting is shared again: a second pod's consumes count too.
      const otherPod = redisFactory(restarted.url).create(name, { points: 2, durationSeconds: 60 });
      await waitFor(async () => {
        await limiter.consume('probe');
        return !factory.circuit.open;
      });
      expect(await otherPod.consume('user')).toEqual({ allowed: true });
      expect(await limiter.consume('user')).toEqual({ allowed: true });
      expect((await otherPod.consume('user')).allowed).toBe(false);
    } finally {
      await restarted.stop();
    }
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
