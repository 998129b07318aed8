/** At most `points` actions per `durationSeconds`, per key. */
export interface RateLimitRule {
  readonly points: number;
  readonly durationSeconds: number;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * Parses `"<points>/<duration>"`, the duration in whole seconds, minutes or
 * hours: `"20/10s"`, `"100/15m"`, `"5/1h"` (no unit means seconds).
 */
export function parseRateLimit(text: string): RateLimitRule {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*([smh]?)\s*$/.exec(text);
  const points = Number(match?.[1]);
  const durationSeconds = Number(match?.[2]) * (UNIT_SECONDS[match?.[3] || 's'] ?? 1);
  if (!match || points < 1 || durationSeconds < 1) {
    throw new Error(`"${text}" is not a rate limit; write <points>/<duration> such as 20/10s, 100/15m or 5/1h`);
  }
  return { points, durationSeconds };
}
