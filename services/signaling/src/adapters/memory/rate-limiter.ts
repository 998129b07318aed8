import type { RateLimitRule } from '../../rate-limit/rate-limit-rule.ts';
import type { RateLimiter, RateLimiterFactory } from '../../rate-limit/rate-limiter.ts';
import { consumeFrom, memoryLimiter } from '../rate-limiter-flexible.ts';

/** In-process counters: the embedded mode's limiter, and each pod's own limiter for per-pod limits. */
export class MemoryRateLimiterFactory implements RateLimiterFactory {
  create(name: string, rule: RateLimitRule): RateLimiter {
    const limiter = memoryLimiter(name, rule);
    return { consume: (key) => consumeFrom(limiter, key) };
  }
}
