import type { Redis } from 'ioredis';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../logger.ts';
import type { AttemptGuard, AttemptGuardPolicy, AttemptVerdict } from '../../rate-limit/attempt-guard.ts';
import { ipKey, MemoryAttemptGuard, userKey, verdict } from '../memory/attempt-guard.ts';

// KEYS: the (user, ip) key, the ip key. ARGV: now, windowMs, cooldownMs,
// maxCooldownMs, maxFailuresPerUser, maxFailuresPerIp. Returns each key's
// lockout remaining. `now` comes from the pods' clock, like the memory guard's;
// `expiresAt` makes expiry follow that clock, PEXPIRE only collects the key.
const RECORD_FAILURE_LUA = `
local now = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local cooldownMs = tonumber(ARGV[3])
local maxCooldownMs = tonumber(ARGV[4])

local function countFailure(key, maxFailures)
  local s = redis.call('HMGET', key, 'failures', 'windowStart', 'lockouts', 'lockedUntil', 'expiresAt')
  local failures, windowStart, lockouts, lockedUntil = 0, now, 0, 0
  if s[5] and tonumber(s[5]) > now then
    failures, windowStart, lockouts, lockedUntil = tonumber(s[1]), tonumber(s[2]), tonumber(s[3]), tonumber(s[4])
  end
  if lockedUntil > now then return lockedUntil - now end
  if now - windowStart >= windowMs then
    failures, windowStart = 0, now
  end
  failures = failures + 1
  local wait = 0
  if failures >= maxFailures then
    lockouts = lockouts + 1
    wait = math.min(cooldownMs * 2 ^ (lockouts - 1), maxCooldownMs)
    lockedUntil = now + wait
    failures, windowStart = 0, now
  end
  local ttl = wait + windowMs + maxCooldownMs
  redis.call('HSET', key, 'failures', failures, 'windowStart', windowStart, 'lockouts', lockouts,
    'lockedUntil', lockedUntil, 'expiresAt', now + ttl)
  redis.call('PEXPIRE', key, ttl)
  return wait
end

return { countFailure(KEYS[1], tonumber(ARGV[5])), countFailure(KEYS[2], tonumber(ARGV[6])) }
`;

// KEYS: the (user, ip) key, the ip key. ARGV: now. Returns the longer lockout remaining.
const CHECK_LUA = `
local now = tonumber(ARGV[1])
local wait = 0
for _, key in ipairs(KEYS) do
  local lockedUntil = tonumber(redis.call('HGET', key, 'lockedUntil')) or 0
  wait = math.max(wait, lockedUntil - now)
end
return wait
`;

type ScriptedRedis = Redis & {
  attemptGuardRecordFailure(userKey: string, ipKey: string, ...args: number[]): Promise<[number, number]>;
  attemptGuardCheck(userKey: string, ipKey: string, now: number): Promise<number>;
};

export interface RedisAttemptGuardOptions {
  readonly redis: Redis;
  /** The cluster's key prefix. */
  readonly keyPrefix: string;
  /** Keeps this guard's counts apart from other guards' (invite codes, server passwords). */
  readonly name: string;
  readonly policy: AttemptGuardPolicy;
  readonly clock: Clock;
  readonly logger?: Logger;
}

/**
 * Counters in Redis hashes at `<keyPrefix>attempts:<name>:u:<user>:<ip>` and
 * `…:ip:<ip>`, updated by one script per failure so pods count as one. While
 * Redis is unreachable each pod counts in its own memory, so it still
 * protects itself; a warning is logged once per outage.
 */
export class RedisAttemptGuard implements AttemptGuard {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;
  readonly #policy: AttemptGuardPolicy;
  readonly #clock: Clock;
  readonly #fallback: MemoryAttemptGuard;
  readonly #logger: Logger | undefined;
  #degraded = false;

  constructor(options: RedisAttemptGuardOptions) {
    options.redis.defineCommand('attemptGuardRecordFailure', { numberOfKeys: 2, lua: RECORD_FAILURE_LUA });
    options.redis.defineCommand('attemptGuardCheck', { numberOfKeys: 2, lua: CHECK_LUA, readOnly: true });
    this.#redis = options.redis as ScriptedRedis;
    this.#prefix = `${options.keyPrefix}attempts:${options.name}:`;
    this.#policy = options.policy;
    this.#clock = options.clock;
    this.#fallback = new MemoryAttemptGuard(options.policy, options.clock);
    this.#logger = options.logger?.child({ module: 'rate-limit.attempt-guard', guard: options.name });
  }

  check(userId: string, ip: string): Promise<AttemptVerdict> {
    return this.#withFallback(
      async () => {
        const now = this.#clock.now().getTime();
        return verdict(await this.#redis.attemptGuardCheck(this.#userKey(userId, ip), this.#ipKey(ip), now));
      },
      () => this.#fallback.check(userId, ip),
    );
  }

  recordFailure(userId: string, ip: string): Promise<AttemptVerdict> {
    const { windowMs, cooldownMs, maxCooldownMs, maxFailuresPerUser, maxFailuresPerIp } = this.#policy;
    return this.#withFallback(
      async () => {
        const now = this.#clock.now().getTime();
        const waits = await this.#redis.attemptGuardRecordFailure(
          this.#userKey(userId, ip),
          this.#ipKey(ip),
          now,
          windowMs,
          cooldownMs,
          maxCooldownMs,
          maxFailuresPerUser,
          maxFailuresPerIp,
        );
        return verdict(Math.max(...waits));
      },
      () => this.#fallback.recordFailure(userId, ip),
    );
  }

  recordSuccess(userId: string, ip: string): Promise<void> {
    return this.#withFallback(
      async () => {
        await this.#redis.del(this.#userKey(userId, ip));
      },
      () => this.#fallback.recordSuccess(userId, ip),
    );
  }

  #userKey(userId: string, ip: string): string {
    return this.#prefix + userKey(userId, ip);
  }

  #ipKey(ip: string): string {
    return this.#prefix + ipKey(ip);
  }

  async #withFallback<T>(command: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await command();
    } catch (error) {
      if (!this.#degraded) this.#logger?.warn({ err: error }, 'redis unreachable; counting failed attempts in this pod only');
      this.#degraded = true;
      return fallback();
    }
    this.#degraded = false;
    return result;
  }
}
