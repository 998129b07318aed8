import type { RateLimitRule } from './rate-limit-rule.ts';

export type RateLimitVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Counts actions per key within a window; shared by all pods in cluster mode. */
export interface RateLimiter {
  /** Spends one point for `key` and says whether the action may go ahead. */
  consume(key: string): Promise<RateLimitVerdict>;
}

/** Makes a named limiter for a rule. Embedded: in-process. Cluster: Redis. */
export interface RateLimiterFactory {
  create(name: string, rule: RateLimitRule): RateLimiter;
}
