import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { RateLimitRule } from '../../rate-limit/rate-limit-rule.ts';
import type { RateLimiter, RateLimiterFactory } from '../../rate-limit/rate-limiter.ts';
import { consumeFrom, memoryLimiter } from '../rate-limiter-flexible.ts';
import type { RedisCircuit } from './circuit.ts';

/**
 * Counters in Redis, atomic across pods: exact, at one round trip per point
 * (HTTP, and whatever guards passwords, invite codes or tokens; socket events
 * use `ReconciledRateLimiterFactory`). While Redis is unreachable or paused
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
