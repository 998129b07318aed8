import type { ErrorCode, ErrorPayload, ValidationIssue } from '@parley/protocol';

/**
 * Codes the client itself produces when no answer came:
 * - `timeout`: no acknowledgement within `ackTimeoutMs`, or a `ChatSession`
 *   deadline (`sendTimeoutMs`, `resumeTimeoutMs`) passed;
 * - `disconnected`: the connection dropped before the answer came (safe to
 *   retry once reconnected; `ChatSession` does so by itself);
 * - `network_error`: the connection could not be made (unreachable, or refused
 *   before Socket.IO, e.g. HTTP 403/429/503 on the WebSocket upgrade);
 * - `closed`: the app closed the `ParleySocket` or the `ChatSession`;
 * - `session_ended`: the server ended the session (logout, revocation, expiry,
 *   replaced by a newer connection of the same client instance): sign in again.
 */
export type ClientErrorCode = 'timeout' | 'disconnected' | 'network_error' | 'closed' | 'session_ended';

type ParleyErrorInit = Omit<ErrorPayload, 'code'> & { code: ErrorCode | ClientErrorCode };

/** A request the server refused (a code from the protocol's catalogue), or one that got no answer (a `ClientErrorCode`). */
export class ParleyError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  /** When the server asks the client to wait (`rate_limited`, `too_many_attempts`, `unavailable`, a timed `banned`). */
  readonly retryAfterMs: number | undefined;
  readonly details: ValidationIssue[] | undefined;
  /** With `join_request_rejected`: whether a new join request may be sent. */
  readonly canReapply: boolean | undefined;
  /** HTTP status, for REST calls. */
  readonly status: number | undefined;

  constructor(payload: ParleyErrorInit, status?: number) {
    super(payload.message);
    this.name = 'ParleyError';
    this.code = payload.code;
    this.retryAfterMs = payload.retryAfterMs;
    this.details = payload.details;
    this.canReapply = payload.canReapply;
    this.status = status;
  }
}
