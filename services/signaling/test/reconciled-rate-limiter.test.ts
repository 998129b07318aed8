import { startLocalRedis, type LocalRedis } from '@parley/testkit';
import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { RedisCircuit } from '../src/adapters/redis/circuit.ts';
import { ReconciledRateLimiterFactory } from '../src/adapters/redis/reconciled-rate-limiter.ts';
import type { RateLimitVerdict } from '../src/rate-limit/rate-limiter.ts';

/*
 * The contract every limiter keeps is in rate-limiter.contract.test.ts; here,
 * what is particular to counting in memory and reconciling with Redis: the
 * documented tolerance across pods, and counting alone while Redis is away.
 */

const namespace = createRedisNamespace();
const connections: Redis[] = [];
const logger = createLogger({ level: 'silent', format: 'json', nodeId: 'test' });
const RULE = { points: 30, durationSeconds: 60 };

/** One pod's limiters: its own connection and circuit, as `startNode` builds them. */
function pod(options: { url?: string; syncIntervalMs?: number; commandTimeoutMs?: number; openMs?: number } = {}) {
  const redis = new Redis(options.url ?? redisUrl(), { commandTimeout: options.commandTimeoutMs ?? 1000, maxRetriesPerRequest: 2 });
  redis.on('error', () => {});
  connections.push(redis);
  let fallbacks = 0;
  const circuit = new RedisCircuit({ redis, openMs: options.openMs ?? 5000, logger, onOpen: () => fallbacks++ });
  const factory = new ReconciledRateLimiterFactory({
    redis,
    keyPrefix: namespace.prefix,
    circuit,
    syncIntervalMs: options.syncIntervalMs ?? 60_000,
  });
  return { factory, redis, circuit, fallbacks: () => fallbacks };
}

afterAll(async () => {
  await namespace.cleanup();
  for (const redis of connections) redis.disconnect();
});

const allowedIn = (verdicts: RateLimitVerdict[]) => verdicts.filter((verdict) => verdict.allowed).length;

function expectRetryAfter(verdict: RateLimitVerdict): void {
  expect(verdict.allowed).toBe(false);
  const { retryAfterMs } = verdict as { retryAfterMs: number };
  expect(retryAfterMs).toBeGreaterThan(0);
  expect(retryAfterMs).toBeLessThanOrEqual(RULE.durationSeconds * 1000);
}

describe('reconciled rate limiter across pods', () => {
  it('caps a key cluster-wide at its points plus what the other pods admitted between syncs', async () => {
    const name = `pods-${crypto.randomUUID()}`;
    // Sync intervals are driven by hand (flush), so each round is exactly one interval.
    const pods = [pod(), pod(), pod()];
    const limiters = pods.map(({ factory }) => factory.create(name, RULE));
    const perPodPerInterval = 4;
    let allowed = 0;
    let lastRound: RateLimitVerdict[] = [];
    for (let round = 0; round < 20; round++) {
      lastRound = [];
      for (const limiter of limiters) {
        for (let i = 0; i < perPodPerInterval; i++) lastRound.push(await limiter.consume('user'));
      }
      allowed += allowedIn(lastRound);
      await Promise.all(pods.map(({ factory }) => factory.flush()));
      if (allowedIn(lastRound) === 0) break;
    }

    // Every pod ends up refusing; unsynced, each would have admitted all 30 (90 in all).
    expect(allowedIn(lastRound)).toBe(0);
    for (const verdict of lastRound) expectRetryAfter(verdict);
    expect(allowed).toBeGreaterThanOrEqual(RULE.points);
    // A pod reads the total at its own sync, so it misses at most two intervals of the others' points.
    expect(allowed).toBeLessThanOrEqual(RULE.points + 2 * (pods.length - 1) * perPodPerInterval);
    // Redis holds what the pods admitted, in rate-limiter-flexible's key, with the window's TTL.
    const key = `${namespace.prefix}rl:${name}:user`;
    expect(Number(await pods[0]!.redis.get(key))).toBe(allowed);
    expect(await pods[0]!.redis.pttl(key)).toBeGreaterThan(0);
  });

  it('syncs on its own every interval: another pod refuses once it has read the total', async () => {
    const name = `timer-${crypto.randomUUID()}`;
    const first = pod({ syncIntervalMs: 25 }).factory.create(name, RULE);
    const second = pod({ syncIntervalMs: 25 }).factory.create(name, RULE);
    const verdicts = [];
    for (let i = 0; i < RULE.points; i++) verdicts.push(await first.consume('user'));
    expect(allowedIn(verdicts)).toBe(RULE.points);
    expectRetryAfter(await first.consume('user'));

    // The second pod admits until its sync brings the first pod's points back (it may take a few on a busy machine).
    let extra = 0;
    let verdict = await second.consume('user');
    const deadline = Date.now() + 10_000;
    while (verdict.allowed && Date.now() < deadline) {
      extra++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      verdict = await second.consume('user');
    }
    expectRetryAfter(verdict);
    expect(extra).toBeLessThan(RULE.points);
  });

  it('counts a pod’s own points exactly, whatever it has synced', async () => {
    const { factory } = pod();
    const limiter = factory.create(`own-${crypto.randomUUID()}`, { points: 5, durationSeconds: 60 });
    const verdicts = [];
    for (let i = 0; i < 8; i++) {
      verdicts.push(await limiter.consume('user'));
      if (i % 2 === 0) await factory.flush();
    }
    expect(verdicts.map((verdict) => verdict.allowed)).toEqual([true, true, true, true, true, false, false, false]);
  });

  it('sends the points of many keys in one sync, each with its window', async () => {
    const { factory, redis } = pod();
    const name = `many-${crypto.randomUUID()}`;
    const limiter = factory.create(name, RULE);
    const users = Array.from({ length: 1201 }, (_, i) => `user-${i}`);
    for (const user of users) await limiter.consume(user);
    await limiter.consume('user-600');
    await factory.flush();
    const counts = await redis.mget(users.map((user) => `${namespace.prefix}rl:${name}:${user}`));
    expect(counts.filter((count) => count === '1')).toHaveLength(1200);
    expect(counts[600]).toBe('2');
    const ttl = await redis.pttl(`${namespace.prefix}rl:${name}:user-1200`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(RULE.durationSeconds * 1000);
  });

  it('remembers at most maxKeys keys: the oldest is forgotten and counts from Redis again at the next sync', async () => {
    const redis = new Redis(redisUrl());
    connections.push(redis);
    const circuit = new RedisCircuit({ redis, openMs: 5000, logger });
    const factory = new ReconciledRateLimiterFactory({ redis, keyPrefix: namespace.prefix, circuit, syncIntervalMs: 60_000, maxKeys: 2 });
    const limiter = factory.create(`bounded-${crypto.randomUUID()}`, { points: 1, durationSeconds: 60 });
    for (const user of ['a', 'b', 'c']) expect(await limiter.consume(user)).toEqual({ allowed: true });
    await factory.flush();
    expect((await limiter.consume('c')).allowed).toBe(false);
    // 'a' was forgotten when 'c' came: its first point is not known locally any more...
    expect(await limiter.consume('a')).toEqual({ allowed: true });
    // ...but Redis has both, and the next sync says so.
    await factory.flush();
    expectRetryAfter(await limiter.consume('a'));
  });
});

describe('reconciled rate limiter while Redis is unusable', () => {
  let redis: LocalRedis | undefined;
  afterEach(async () => {
    redis?.process?.resume();
    await redis?.stop();
    redis = undefined;
  });

  it('keeps limiting per pod while Redis refuses connections, and sends the points once it answers', async () => {
    redis = await startLocalRedis();
    const { url } = redis;
    const node = pod({ url, commandTimeoutMs: 5000, openMs: 100 });
    const name = `down-${crypto.randomUUID()}`;
    const limiter = node.factory.create(name, { points: 3, durationSeconds: 60 });
    expect(await limiter.consume('user')).toEqual({ allowed: true });
    await node.factory.flush();

    await redis.stop();
    await waitFor(() => node.redis.status === 'reconnecting');
    const verdicts = [await limiter.consume('user'), await limiter.consume('user'), await limiter.consume('user')];
    expect(verdicts.slice(0, 2)).toEqual([{ allowed: true }, { allowed: true }]);
    expectRetryAfter(verdicts[2]!);
    await node.factory.flush();
    expect(node.fallbacks()).toBe(1);

    // Same port: the connection comes back by itself. Redis lost its counts with its process, but the
    // points admitted during the outage were kept and are sent with the first sync that gets through.
    redis = await startLocalRedis({ port: Number(new URL(url).port) });
    await waitFor(() => node.redis.status === 'ready');
    const key = `${namespace.prefix}rl:${name}:user`;
    await waitFor(async () => {
      await node.factory.flush();
      return !node.circuit.open;
    });
    expect(Number(await node.redis.get(key))).toBe(2);
  });

  it('answers at once while Redis is paused and a sync hangs on it', async () => {
    redis = await startLocalRedis();
    const node = pod({ url: redis.url, commandTimeoutMs: 200, openMs: 60_000 });
    const limiter = node.factory.create(`paused-${crypto.randomUUID()}`, { points: 3, durationSeconds: 60 });
    expect(await limiter.consume('user')).toEqual({ allowed: true });

    redis.process!.pause();
    const sync = node.factory.flush();
    let synced = false;
    void sync.then(() => (synced = true));
    // Consumes do not wait for the hanging sync (it waits for the command timeout).
    const verdicts = [await limiter.consume('user'), await limiter.consume('user'), await limiter.consume('user')];
    expect(synced).toBe(false);
    expect(verdicts.slice(0, 2)).toEqual([{ allowed: true }, { allowed: true }]);
    expectRetryAfter(verdicts[2]!);
    await sync;
    expect(node.fallbacks()).toBe(1);
    expectRetryAfter(await limiter.consume('user'));
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
