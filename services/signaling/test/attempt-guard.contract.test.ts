import { freePort } from '@parley/testkit';
import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.ts';
import { createLogger } from '../src/logger.ts';
import { MemoryAttemptGuard } from '../src/adapters/memory/attempt-guard.ts';
import { RedisAttemptGuard } from '../src/adapters/redis/attempt-guard.ts';
import {
  defaultAttemptGuardPolicy,
  type AttemptGuard,
  type AttemptGuardPolicy,
  type AttemptVerdict,
} from '../src/rate-limit/attempt-guard.ts';

class TestClock implements Clock {
  #ms = Date.parse('2026-01-01T00:00:00Z');
  now(): Date {
    return new Date(this.#ms);
  }
  advance(ms: number): void {
    this.#ms += ms;
  }
}

const IP = '203.0.113.7';
const OTHER_IP = '198.51.100.9';
const allowed: AttemptVerdict = { allowed: true };
const refused = (retryAfterMs: number): AttemptVerdict => ({ allowed: false, retryAfterMs });

async function fail(guard: AttemptGuard, userId: string, ip: string, times: number): Promise<AttemptVerdict[]> {
  const verdicts = [];
  for (let i = 0; i < times; i++) verdicts.push(await guard.recordFailure(userId, ip));
  return verdicts;
}
const allowedTimes = (times: number) => Array.from({ length: times }, () => allowed);

const namespace = createRedisNamespace();
const connections: Redis[] = [];
function connect(): Redis {
  const redis = new Redis(redisUrl());
  connections.push(redis);
  return redis;
}
function redisGuard(policy: AttemptGuardPolicy, clock: Clock, name = `contract-${crypto.randomUUID()}`): RedisAttemptGuard {
  return new RedisAttemptGuard({ redis: connect(), keyPrefix: namespace.prefix, name, policy, clock });
}
afterAll(async () => {
  await namespace.cleanup();
  for (const redis of connections) redis.disconnect();
});

type MakeGuard = (policy: AttemptGuardPolicy, clock: Clock) => AttemptGuard;
const implementations: Array<[string, MakeGuard]> = [
  ['memory (embedded)', (policy, clock) => new MemoryAttemptGuard(policy, clock)],
  ['redis (cluster)', (policy, clock) => redisGuard(policy, clock)],
];

describe.each(implementations)('attempt guard: %s', (_name, makeGuard) => {
  it('locks a user out on the 8th failure for a minute, then two; checks during the lockout do not count', async () => {
    const clock = new TestClock();
    const guard = makeGuard(defaultAttemptGuardPolicy, clock);
    expect(await guard.check('alice', IP)).toEqual(allowed);
    expect(await fail(guard, 'alice', IP, 7)).toEqual(allowedTimes(7));
    expect(await guard.recordFailure('alice', IP)).toEqual(refused(60_000));

    clock.advance(15_000);
    for (let i = 0; i < 10; i++) expect(await guard.check('alice', IP)).toEqual(refused(45_000));
    clock.advance(45_000);
    expect(await guard.check('alice', IP)).toEqual(allowed);

    expect(await fail(guard, 'alice', IP, 7)).toEqual(allowedTimes(7));
    expect(await guard.recordFailure('alice', IP)).toEqual(refused(120_000));
    // Past the IP's window too, whose 20 failures would otherwise lock the third round.
    clock.advance(300_000);
    expect(await fail(guard, 'alice', IP, 7)).toEqual(allowedTimes(7));
    expect(await guard.recordFailure('alice', IP)).toEqual(refused(240_000));
  });

  it('doubles each further lockout up to maxCooldownMs', async () => {
    const clock = new TestClock();
    const policy = { windowMs: 10_000, maxFailuresPerUser: 2, maxFailuresPerIp: 1000, cooldownMs: 100, maxCooldownMs: 1000 };
    const guard = makeGuard(policy, clock);
    for (const cooldown of [100, 200, 400, 800, 1000, 1000]) {
      expect(await fail(guard, 'alice', IP, 2)).toEqual([allowed, refused(cooldown)]);
      clock.advance(cooldown);
    }
  });

  it('starts counting again once the window is over', async () => {
    const clock = new TestClock();
    const guard = makeGuard(defaultAttemptGuardPolicy, clock);
    expect(await fail(guard, 'alice', IP, 7)).toEqual(allowedTimes(7));
    expect(await fail(guard, 'bob', OTHER_IP, 7)).toEqual(allowedTimes(7));
    clock.advance(299_999);
    expect(await guard.recordFailure('bob', OTHER_IP)).toEqual(refused(60_000));
    clock.advance(1);
    expect(await fail(guard, 'alice', IP, 7)).toEqual(allowedTimes(7));
    expect(await guard.recordFailure('alice', IP)).toEqual(refused(60_000));
  });

  it('locks every user of an IP out on its 20th failure', async () => {
    const clock = new TestClock();
    const guard = makeGuard(defaultAttemptGuardPolicy, clock);
    const ipv6 = '2001:db8::17';
    const users = ['ann', 'ben', 'cat'];
    for (let i = 0; i < 19; i++) expect(await guard.recordFailure(users[i % 3]!, ipv6)).toEqual(allowed);
    expect(await guard.recordFailure('ben', ipv6)).toEqual(refused(60_000));
    for (const user of [...users, 'newcomer']) expect(await guard.check(user, ipv6)).toEqual(refused(60_000));
    expect(await guard.check('ann', IP)).toEqual(allowed);
  });

  it('clears the user’s failures on success, not the IP’s count', async () => {
    const clock = new TestClock();
    const guard = makeGuard(defaultAttemptGuardPolicy, clock);
    expect(await fail(guard, 'alice', IP, 7)).toEqual(allowedTimes(7));
    await guard.recordSuccess('alice', IP);
    expect(await fail(guard, 'alice', IP, 7)).toEqual(allowedTimes(7));
    expect(await fail(guard, 'bob', IP, 5)).toEqual(allowedTimes(5));
    expect(await guard.recordFailure('bob', IP)).toEqual(refused(60_000));
    expect(await guard.check('alice', IP)).toEqual(refused(60_000));
  });

  it('forgets the user’s lockout history on success', async () => {
    const clock = new TestClock();
    const guard = makeGuard({ ...defaultAttemptGuardPolicy, maxFailuresPerIp: 1000 }, clock);
    expect((await fail(guard, 'alice', IP, 8)).at(-1)).toEqual(refused(60_000));
    clock.advance(60_000);
    await guard.recordSuccess('alice', IP);
    expect((await fail(guard, 'alice', IP, 8)).at(-1)).toEqual(refused(60_000));
  });

  it('answers the longer of the user’s and the IP’s lockouts', async () => {
    const clock = new TestClock();
    const policy = { windowMs: 100_000, maxFailuresPerUser: 2, maxFailuresPerIp: 3, cooldownMs: 1000, maxCooldownMs: 100_000 };
    const guard = makeGuard(policy, clock);
    expect(await fail(guard, 'alice', IP, 2)).toEqual([allowed, refused(1000)]);
    clock.advance(500);
    expect(await guard.recordFailure('bob', IP)).toEqual(refused(1000));
    expect(await guard.check('alice', IP)).toEqual(refused(1000));
    clock.advance(600);
    expect(await guard.check('alice', IP)).toEqual(refused(400));
    // The IP is locked out and does not count; alice's own key does, and locks her out for longer.
    expect(await fail(guard, 'alice', IP, 2)).toEqual([refused(400), refused(2000)]);
    expect(await guard.check('alice', IP)).toEqual(refused(2000));
    expect(await guard.check('carol', IP)).toEqual(refused(400));
  });

  it('forgets the lockout history after windowMs + maxCooldownMs without failures', async () => {
    const clock = new TestClock();
    const guard = makeGuard(defaultAttemptGuardPolicy, clock);
    const quiet = 60_000 + 300_000 + 3_600_000;
    expect((await fail(guard, 'alice', IP, 8)).at(-1)).toEqual(refused(60_000));
    expect((await fail(guard, 'bob', OTHER_IP, 8)).at(-1)).toEqual(refused(60_000));
    clock.advance(quiet - 1);
    expect((await fail(guard, 'alice', IP, 8)).at(-1)).toEqual(refused(120_000));
    clock.advance(1);
    expect((await fail(guard, 'bob', OTHER_IP, 8)).at(-1)).toEqual(refused(60_000));
  });

  it('counts a burst of concurrent failures exactly: one lockout', async () => {
    const clock = new TestClock();
    const guard = makeGuard({ ...defaultAttemptGuardPolicy, maxFailuresPerUser: 10, maxFailuresPerIp: 1000 }, clock);
    const verdicts = await Promise.all(Array.from({ length: 30 }, () => guard.recordFailure('alice', IP)));
    expect(verdicts.filter((verdict) => verdict.allowed)).toHaveLength(9);
    expect(verdicts.filter((verdict) => !verdict.allowed)).toEqual(Array.from({ length: 21 }, () => refused(60_000)));
    clock.advance(60_000);
    expect(await fail(guard, 'alice', IP, 10)).toEqual([...allowedTimes(9), refused(120_000)]);
  });
});

describe('attempt guard: memory (embedded) bound', () => {
  it('forgets the keys that failed least recently beyond maxKeys', async () => {
    const clock = new TestClock();
    const policy = { ...defaultAttemptGuardPolicy, maxFailuresPerUser: 1, maxFailuresPerIp: 1000 };
    const guard = new MemoryAttemptGuard(policy, clock, { maxKeys: 10 });
    expect(await guard.recordFailure('first', IP)).toEqual(refused(60_000));
    for (let i = 1; i <= 9; i++) await guard.recordFailure(`user-${i}`, IP);
    expect(await guard.check('first', IP)).toEqual(allowed);
    expect(await guard.check('user-1', IP)).toEqual(allowed);
    for (let i = 2; i <= 9; i++) expect(await guard.check(`user-${i}`, IP)).toEqual(refused(60_000));
  });
});

describe('attempt guard: redis (cluster)', () => {
  it('counts concurrent failures from two pods as one: one lockout, every IP failure counted', async () => {
    const clock = new TestClock();
    const policy = { windowMs: 600_000, maxFailuresPerUser: 10, maxFailuresPerIp: 45, cooldownMs: 60_000, maxCooldownMs: 3_600_000 };
    const name = `pods-${crypto.randomUUID()}`;
    const pods = [redisGuard(policy, clock, name), redisGuard(policy, clock, name)];
    const verdicts = await Promise.all(Array.from({ length: 30 }, (_, i) => pods[i % 2]!.recordFailure('alice', IP)));
    expect(verdicts.filter((verdict) => verdict.allowed)).toHaveLength(9);

    // A lost update would show here as more attempts allowed, a doubled lockout as 240 s.
    clock.advance(60_000);
    expect(await fail(pods[0]!, 'alice', IP, 9)).toEqual(allowedTimes(9));
    expect(await pods[1]!.recordFailure('alice', IP)).toEqual(refused(120_000));
    // The IP has counted all 40 failures, so bob's 5th is its 45th.
    expect(await fail(pods[1]!, 'bob', IP, 4)).toEqual(allowedTimes(4));
    expect(await pods[0]!.recordFailure('bob', IP)).toEqual(refused(60_000));
  });

  it('sets each key to expire once it can no longer matter, and deletes the user key on success', async () => {
    const clock = new TestClock();
    const name = `ttl-${crypto.randomUUID()}`;
    const guard = redisGuard(defaultAttemptGuardPolicy, clock, name);
    const redis = connect();
    const userKey = `${namespace.prefix}attempts:${name}:u:alice:${IP}`;
    const ipKey = `${namespace.prefix}attempts:${name}:ip:${IP}`;
    await fail(guard, 'alice', IP, 8);

    const quiet = 300_000 + 3_600_000;
    const userTtl = await redis.pttl(userKey);
    expect(userTtl).toBeLessThanOrEqual(60_000 + quiet);
    expect(userTtl).toBeGreaterThan(60_000 + quiet - 5_000);
    const ipTtl = await redis.pttl(ipKey);
    expect(ipTtl).toBeLessThanOrEqual(quiet);
    expect(ipTtl).toBeGreaterThan(quiet - 5_000);

    await guard.recordSuccess('alice', IP);
    expect(await redis.exists(userKey, ipKey)).toBe(1);
  });

  it('counts in memory while Redis is unreachable, warning once', async () => {
    const clock = new TestClock();
    const redis = new Redis({
      host: '127.0.0.1',
      port: await freePort(),
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    connections.push(redis);
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', format: 'json', nodeId: 'test', destination: { write: (line) => void lines.push(line) } });
    const guard = new RedisAttemptGuard({ redis, keyPrefix: namespace.prefix, name: 'offline', policy: defaultAttemptGuardPolicy, clock, logger });

    expect(await guard.check('alice', IP)).toEqual(allowed);
    expect(await fail(guard, 'alice', IP, 7)).toEqual(allowedTimes(7));
    expect(await guard.recordFailure('alice', IP)).toEqual(refused(60_000));
    expect(await guard.check('alice', IP)).toEqual(refused(60_000));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, guard: 'offline', msg: expect.stringContaining('redis unreachable') });
  });
});
