import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitRule } from '../rate-limit/rate-limit-rule.ts';
import type { RateLimitVerdict } from '../rate-limit/rate-limiter.ts';

/** One point spent on a rate-limiter-flexible limiter: a refusal is a verdict, anything else a failure. */
export async function consumeFrom(limiter: RateLimiterAbstract, key: string): Promise<RateLimitVerdict> {
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

/** In-process counters for a rule, under `name`. */
export const memoryLimiter = (name: string, rule: RateLimitRule) =>
  new RateLimiterMemory({ keyPrefix: name, points: rule.points, duration: rule.durationSeconds });
