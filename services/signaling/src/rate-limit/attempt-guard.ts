/**
 * How the failed-attempt guard counts and locks out.
 *
 * Two keys are counted for each failure: the user on that IP (`u:<userId>:<ip>`)
 * and the IP alone (`ip:<ip>`). Each key has a failure count, a window start,
 * a lockout count and a lockout end. A failure to a key that is locked out is
 * not counted. Otherwise, when the window is over (`now - windowStart >= windowMs`)
 * the count starts again from `now`; the failure is counted, and when the count
 * reaches the key's maximum the key is locked out for
 * `min(cooldownMs * 2^(lockouts - 1), maxCooldownMs)`, and the count and the
 * window start again.
 *
 * A key, lockout history included, is forgotten once it has seen no failure
 * for `windowMs + maxCooldownMs` and its last lockout ended that long ago.
 */
export interface AttemptGuardPolicy {
  /** Failures are counted within this window, which starts at the first failure. */
  readonly windowMs: number;
  /** Failures per (user, IP) within the window that start a lockout. */
  readonly maxFailuresPerUser: number;
  /** Failures per IP (all users) within the window that start a lockout. */
  readonly maxFailuresPerIp: number;
  /** The first lockout's length; each further lockout of the same key doubles it... */
  readonly cooldownMs: number;
  /** ...up to this. */
  readonly maxCooldownMs: number;
}

/**
 * 8 failures per user and IP or 20 per IP within 5 minutes lock out for
 * 1 minute, then 2, 4, … up to 1 hour.
 */
export const defaultAttemptGuardPolicy: AttemptGuardPolicy = Object.freeze({
  windowMs: 300_000,
  maxFailuresPerUser: 8,
  maxFailuresPerIp: 20,
  cooldownMs: 60_000,
  maxCooldownMs: 3_600_000,
});

export type AttemptVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Brute-force protection for guesses such as invite codes and server
 * passwords: check before the attempt, then record its outcome. Shared by all
 * pods in cluster mode.
 */
export interface AttemptGuard {
  /** Whether (user, ip) may try now: refused while either key is locked out, with the longer remaining time. Never counts. */
  check(userId: string, ip: string): Promise<AttemptVerdict>;
  /**
   * Counts a failure against (user, ip) and against ip, atomically; says whether
   * the next attempt is allowed (a lockout that just started answers
   * `allowed: false` with its full length).
   */
  recordFailure(userId: string, ip: string): Promise<AttemptVerdict>;
  /** A success clears the (user, ip) key: its failures and its lockout history. The IP key is left alone. */
  recordSuccess(userId: string, ip: string): Promise<void>;
}
