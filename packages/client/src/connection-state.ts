import type { ErrorCode } from '@parley/protocol';
import type { ParleyError } from './parley-error.ts';

/** Why a `ParleySocket` gave up for good. */
export type DisconnectReason =
  /** The app called `close()`. */
  | 'closed'
  /** The server ended the session (`session:ended`: logout, revocation, expiry, replaced). */
  | 'ended'
  /** The server refused a reconnect with a code that retrying cannot change (`auth_error`, `origin_not_allowed`, ...). */
  | 'refused'
  /** The connection dropped and `reconnection` is false. */
  | 'lost';

/** Where a `ParleySocket` stands; see `onStateChange`. */
export type ConnectionState =
  | { status: 'connected' }
  | {
      status: 'reconnecting';
      /**
       * Why the last connection or attempt failed: `disconnected` (the
       * connection dropped), `network_error` (the transport failed) or the
       * server's refusal (`unavailable`, `rate_limited`, `internal_error`).
       */
      error: ParleyError;
      /** The attempt about to be made: 1 after a loss, counting up until one succeeds. */
      attempt: number;
      /** How long until that attempt. */
      delayMs: number;
    }
  | {
      status: 'disconnected';
      reason: DisconnectReason;
      /** What every pending and later request rejects with. */
      error: ParleyError;
    };

/** Handshake refusals that waiting can cure: the pod is busy or a dependency is down, the credentials are fine. */
export const RETRYABLE_REFUSALS: ReadonlySet<string> = new Set<ErrorCode>(['unavailable', 'rate_limited', 'internal_error']);
export const RECONNECT_BASE_MS = 500;
export const RECONNECT_MAX_MS = 5000;

/**
 * The wait before reconnect attempt `attempt` (1 for the first): exponential
 * backoff with full jitter, uniform in [0, min(5 s, 500 ms x 2^(attempt-1))],
 * so clients that lost the same pod do not come back together; never sooner
 * than the server's `retryAfterMs`.
 */
export function reconnectDelay(attempt: number, retryAfterMs: number | undefined): number {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** (attempt - 1));
  return Math.max(retryAfterMs ?? 0, Math.round(Math.random() * ceiling));
}
