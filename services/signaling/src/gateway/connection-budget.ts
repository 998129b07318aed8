import type { ErrorPayload } from '@parley/protocol';
import type { RateLimitRule } from '../rate-limit/rate-limit-rule.ts';

const monotonicNow = () => performance.now();

/**
 * What one connection may ask of its pod, checked in memory before any
 * other work (no Redis round trip, no parsing): events of any name at most
 * `eventRate`, and at most `maxInFlight` of them awaiting their
 * acknowledgement at once, so that one socket flooding slow events cannot
 * hold the pod's memory or its database pool.
 */
export class ConnectionBudget {
  readonly #rate: RateLimitRule;
  readonly #maxInFlight: number;
  readonly #now: () => number;
  #windowStart = -Infinity;
  #eventsInWindow = 0;
  #inFlight = 0;

  constructor(options: { eventRate: RateLimitRule; maxInFlight: number; now?: () => number }) {
    this.#rate = options.eventRate;
    this.#maxInFlight = options.maxInFlight;
    this.#now = options.now ?? monotonicNow;
  }

  /** Counts one incoming event; the refusal when it is over the connection's event rate. */
  spendEvent(): ErrorPayload | undefined {
    const now = this.#now();
    const windowMs = this.#rate.durationSeconds * 1000;
    if (now - this.#windowStart >= windowMs) {
      this.#windowStart = now;
      this.#eventsInWindow = 0;
    }
    if (++this.#eventsInWindow <= this.#rate.points) return undefined;
    return {
      code: 'rate_limited',
      message: 'Too many events on this connection',
      retryAfterMs: Math.max(1, Math.ceil(this.#windowStart + windowMs - now)),
    };
  }

  /** Starts handling an event; the refusal when too many are in flight. Call `finish` after a start that was not refused. */
  start(): ErrorPayload | undefined {
    if (this.#inFlight >= this.#maxInFlight) {
      return { code: 'rate_limited', message: 'Too many requests in flight on this connection', retryAfterMs: 100 };
    }
    this.#inFlight++;
    return undefined;
  }

  finish(): void {
    this.#inFlight--;
  }
}
