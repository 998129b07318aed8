import type { Clock } from '../../clock.ts';
import type { AttemptGuard, AttemptGuardPolicy, AttemptVerdict } from '../../rate-limit/attempt-guard.ts';

/** The keys a guard counts under, shared with the Redis guard: one per (user, IP), one per IP. */
export const userKey = (userId: string, ip: string) => `u:${userId}:${ip}`;
export const ipKey = (ip: string) => `ip:${ip}`;

/** A lockout's remaining time as a verdict. */
export function verdict(waitMs: number): AttemptVerdict {
  return waitMs > 0 ? { allowed: false, retryAfterMs: waitMs } : { allowed: true };
}

interface KeyState {
  failures: number;
  windowStart: number;
  lockouts: number;
  lockedUntil: number;
  /** When the key, lockout history included, is forgotten. */
  expiresAt: number;
}

/**
 * In-process counters: the embedded mode's guard, and the cluster mode's
 * while Redis is away. Holds at most `maxKeys` keys (default 100,000): past
 * that it drops expired keys, then those that failed least recently.
 */
export class MemoryAttemptGuard implements AttemptGuard {
  readonly #policy: AttemptGuardPolicy;
  readonly #clock: Clock;
  readonly #maxKeys: number;
  /** In order of last failure, oldest first. */
  readonly #keys = new Map<string, KeyState>();

  constructor(policy: AttemptGuardPolicy, clock: Clock, options: { maxKeys?: number } = {}) {
    this.#policy = policy;
    this.#clock = clock;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  async check(userId: string, ip: string): Promise<AttemptVerdict> {
    const now = this.#clock.now().getTime();
    return verdict(Math.max(this.#lockRemaining(userKey(userId, ip), now), this.#lockRemaining(ipKey(ip), now)));
  }

  async recordFailure(userId: string, ip: string): Promise<AttemptVerdict> {
    const now = this.#clock.now().getTime();
    const waitMs = Math.max(
      this.#countFailure(userKey(userId, ip), this.#policy.maxFailuresPerUser, now),
      this.#countFailure(ipKey(ip), this.#policy.maxFailuresPerIp, now),
    );
    this.#evict(now);
    return verdict(waitMs);
  }

  async recordSuccess(userId: string, ip: string): Promise<void> {
    this.#keys.delete(userKey(userId, ip));
  }

  #get(key: string, now: number): KeyState | undefined {
    const state = this.#keys.get(key);
    if (state && state.expiresAt <= now) {
      this.#keys.delete(key);
      return undefined;
    }
    return state;
  }

  #lockRemaining(key: string, now: number): number {
    return Math.max(0, (this.#get(key, now)?.lockedUntil ?? 0) - now);
  }

  /** The same steps as RECORD_FAILURE_LUA; returns how long the key is locked out now. */
  #countFailure(key: string, maxFailures: number, now: number): number {
    const { windowMs, cooldownMs, maxCooldownMs } = this.#policy;
    const state = this.#get(key, now) ?? { failures: 0, windowStart: now, lockouts: 0, lockedUntil: 0, expiresAt: 0 };
    if (state.lockedUntil > now) return state.lockedUntil - now;
    if (now - state.windowStart >= windowMs) {
      state.failures = 0;
      state.windowStart = now;
    }
    state.failures += 1;
    let waitMs = 0;
    if (state.failures >= maxFailures) {
      state.lockouts += 1;
      waitMs = Math.min(cooldownMs * 2 ** (state.lockouts - 1), maxCooldownMs);
      state.lockedUntil = now + waitMs;
      state.failures = 0;
      state.windowStart = now;
    }
    state.expiresAt = now + waitMs + windowMs + maxCooldownMs;
    this.#keys.delete(key);
    this.#keys.set(key, state);
    return waitMs;
  }

  #evict(now: number): void {
    if (this.#keys.size <= this.#maxKeys) return;
    for (const [key, state] of this.#keys) {
      if (state.expiresAt <= now) this.#keys.delete(key);
    }
    // Trimming a tenth below the bound keeps a full map from being swept on every failure.
    const target = Math.floor(this.#maxKeys * 0.9);
    for (const key of this.#keys.keys()) {
      if (this.#keys.size <= target) break;
      this.#keys.delete(key);
    }
  }
}
