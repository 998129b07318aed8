import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitRule } from './rate-limit-rule.ts';
import type { RateLimiter, RateLimiterFactory, RateLimitVerdict } from './rate-limiter.ts';

class FlexibleRateLimiter implements RateLimiter {
  readonly #limiter: RateLimiterAbstract;

  constructor(limiter: RateLimiterAbstract) {
    this.#limiter = limiter;
  }

  async consume(key: string): Promise<RateLimitVerdict> {
    try {
      await this.#limiter.consume(key);
      return { allowed: true };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(rejection.msBeforeNext)) };
      }
      throw rejection;
    }
  }
}

/** In-process counters: the embedded mode's limiter. */
export class MemoryRateLimiterFactory implements RateLimiterFactory {
  create(name: string, rule: RateLimitRule): RateLimiter {
    return new FlexibleRateLimiter(
      new RateLimiterMemory({ keyPrefix: name, points: rule.points, duration: rule.durationSeconds }),
    );
  }
}

/**
 * Counters in Redis, atomic across pods. While Redis is unreachable each pod
 * falls back to its own in-process counters, so limits still hold per pod.
 */
export class RedisRateLimiterFactory implements RateLimiterFactory {
  readonly #redis: Redis;
  readonly #keyPrefix: string;

  constructor(redis: Redis, keyPrefix: string) {
    this.#redis = redis;
    this.#keyPrefix = keyPrefix;
  }

  create(name: string, rule: RateLimitRule): RateLimiter {
    const options = { points: rule.points, duration: rule.durationSeconds };
    return new FlexibleRateLimiter(
      new RateLimiterRedis({
        ...options,
        storeClient: this.#redis,
        keyPrefix: `${this.#keyPrefix}rl:${name}`,
        insuranceLimiter: new RateLimiterMemory({ ...options, keyPrefix: name }),
      }),
    );
  }
}
