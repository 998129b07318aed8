import { isTransientDatabaseError } from '@parley/db';
import type { Logger } from 'pino';
import { errorCatalogue, type ErrorCode, type ErrorPayload, type ValidationIssue } from '@parley/protocol';

/** The one error type domain code throws. Transports map `code` to an HTTP status or an ack. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;
  readonly details: ValidationIssue[] | undefined;
  readonly canReapply: boolean | undefined;

  constructor(
    code: ErrorCode,
    message: string = errorCatalogue[code].message,
    options: { retryAfterMs?: number; details?: ValidationIssue[]; canReapply?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
    this.canReapply = options.canReapply;
  }

  toPayload(): ErrorPayload {
    return {
      code: this.code,
      message: this.message,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.details === undefined ? {} : { details: this.details }),
      ...(this.canReapply === undefined ? {} : { canReapply: this.canReapply }),
    };
  }
}

/**
 * ioredis's failures while Redis is unreachable or does not answer: the
 * command was given up after its retries or its timeout, or the connection
 * closed under it. (Script errors and wrong replies are bugs, and are not matched.)
 */
function isRedisOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'MaxRetriesPerRequestError' || ['Connection is closed.', 'Command timed out'].includes(error.message);
}

/** A connection to some dependency (Redis, Postgres, object storage, an OpenID provider) failed on the network. */
function isNetworkFailure(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code);
}

/** How long a client should wait before retrying after a dependency failed. */
const DEPENDENCY_RETRY_AFTER_MS = 1000;

/**
 * The public form of any thrown value. `unexpected` is true when it is a bug
 * (not an AppError, not a dependency outage): the caller logs it in full, the
 * client sees only `internal_error`.
 */
function describeError(error: unknown): { payload: ErrorPayload; unexpected: boolean } {
  if (error instanceof AppError) return { payload: error.toPayload(), unexpected: false };
  const unavailable = (message: string) => ({
    payload: { code: 'unavailable' as const, message, retryAfterMs: DEPENDENCY_RETRY_AFTER_MS },
    unexpected: false,
  });
  if (isRedisOutage(error)) return unavailable('Shared state is unavailable');
  if (isNetworkFailure(error)) return unavailable('A dependency is unavailable');
  if (isTransientDatabaseError(error)) return unavailable('The database is unavailable');
  return { payload: { code: 'internal_error', message: errorCatalogue.internal_error.message }, unexpected: true };
}

/**
 * `describeError`, plus the log line every transport writes for it: a bug in
 * full at error level, a dependency outage at warn; a client's mistake not at all.
 */
export function reportError(log: Logger, error: unknown, context: Record<string, unknown>): ErrorPayload {
  const { payload, unexpected } = describeError(error);
  if (unexpected) log.error({ err: error, ...context }, 'request failed');
  else if (payload.code === 'unavailable') log.warn({ err: error, ...context }, 'dependency unavailable');
  return payload;
}
