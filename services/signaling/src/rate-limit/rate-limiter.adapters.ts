import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitRule } from './rate-limit-rule.ts';
import type { RateLimiter, RateLimiterFactory, RateLimitVerdict } from './rate-limiter.ts';
import type { RedisCircuit } from './redis-circuit.ts';
import type { Redis } from 'ioredis';

/** One point spent on a rate-limiter-flexible limiter: a refusal is a verdict, anything else a failure. */
async function consumeFrom(limiter: RateLimiterAbstract, key: string): Promise<RateLimitVerdict> {
  try {
    await limiter.consume(key);
    return { allowed: true };
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(rejection.msBeforeNext)) };
    }
    throw rejection;
  }
}

const memoryLimiter = (name: string, rule: RateLimitRule) =>
  new RateLimiterMemory({ keyPrefix: name, points: rule.points, duration: rule.durationSeconds });

/** In-process counters: the embedded mode's limiter, and each pod's own limiter for per-pod limits. */
export class MemoryRateLimiterFactory implements RateLimiterFactory {
  create(name: string, rule: RateLimitRule): RateLimiter {
    const limiter = memoryLimiter(name, rule);
    return { consume: (key) => consumeFrom(limiter, key) };
  }
}

/**
 * Counters in Redis, atomic across pods. While Redis is unreachable or paused
 * (see `RedisCircuit`) each pod falls back to its own in-process counters, so
 * limits still hold per pod and no event waits on Redis.
 */
export class RedisRateLimiterFactory implements RateLimiterFactory {
  readonly #redis: Redis;
  readonly #keyPrefix: string;
  readonly #circuit: RedisCircuit;

  constructor(options: { redis: Redis; keyPrefix: string; circuit: RedisCircuit }) {
    this.#redis = options.redis;
    this.#keyPrefix = options.keyPrefix;
    this.#circuit = options.circuit;
  }

  create(name: string, rule: RateLimitRule): RateLimiter {
    const shared = new RateLimiterRedis({
      points: rule.points,
      duration: rule.durationSeconds,
      storeClient: this.#redis,
      keyPrefix: `${this.#keyPrefix}rl:${name}`,
    });
    const local = memoryLimiter(name, rule);
    return {
      consume: (key) => this.#circuit.run(() => consumeFrom(shared, key), () => consumeFrom(local, key)),
    };
  }
}
