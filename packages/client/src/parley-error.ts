import type { ErrorCode, ErrorPayload, ValidationIssue } from '@parley/protocol';

/** Codes the client itself produces when no answer came. */
export type ClientErrorCode = 'timeout' | 'disconnected' | 'network_error';

type ParleyErrorInit = Omit<ErrorPayload, 'code'> & { code: ErrorCode | ClientErrorCode };

/** A request the server refused, or one that got no answer (`code: 'timeout'`, `'disconnected'`, `'network_error'`). */
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
