/**
 * The one catalogue of error codes Parley answers with, over HTTP and in
 * Socket.IO acknowledgements. Codes are stable identifiers: clients branch on
 * them, so a code is never renamed or reused for another meaning.
 */
export const errorCatalogue = {
  /** The payload failed validation; `details` lists each problem. */
  invalid_payload: { status: 400, message: 'The request payload is invalid' },
  /** The HTTP body was not valid JSON. */
  invalid_json: { status: 400, message: 'The request body is not valid JSON' },
  /** The body or event payload exceeds its size cap. */
  payload_too_large: { status: 413, message: 'The payload is too large' },
  /** No credentials were presented. */
  auth_required: { status: 401, message: 'Authentication is required' },
  /** The credentials were presented but are invalid, expired or revoked. */
  auth_error: { status: 401, message: 'The credentials are invalid or expired' },
  /** Sign-in is switched off on this server (`AUTH_MODE=disabled`: the server lock). */
  auth_disabled: { status: 403, message: 'Sign-in is disabled on this server' },
  /** This way of signing in (password, or OIDC token) is not enabled by `AUTH_MODE`. */
  auth_method_disabled: { status: 403, message: 'This sign-in method is disabled on this server' },
  /** Username and password do not match an account. */
  invalid_credentials: { status: 401, message: 'Invalid username or password' },
  /** A password change named the wrong current password. */
  wrong_password: { status: 403, message: 'The current password is incorrect' },
  /** The request's Origin is not on the allowlist. */
  origin_not_allowed: { status: 403, message: 'This origin is not allowed' },
  /** The actor is authenticated but may not do this. */
  forbidden: { status: 403, message: 'You do not have permission to do this' },
  /** The actor is not a member of the community that owns the resource. */
  not_a_member: { status: 403, message: 'You are not a member of this server' },
  /** No route or resource by that name. */
  not_found: { status: 404, message: 'Not found' },
  /** No community with that id. */
  server_not_found: { status: 404, message: 'Server not found' },
  /** No channel with that id, or it is not a channel the event applies to. */
  channel_not_found: { status: 404, message: 'Channel not found' },
  /** The username is already taken (case-insensitively). */
  username_taken: { status: 409, message: 'That username is already taken' },
  /** A per-user cap on stored things (such as device tokens) is reached. */
  limit_reached: { status: 409, message: 'A limit on this resource has been reached' },
  /** Too many requests; retry after `retryAfterMs`. */
  rate_limited: { status: 429, message: 'Too many requests' },
  /** A dependency (database, Redis) is unavailable; safe to retry after `retryAfterMs`. */
  unavailable: { status: 503, message: 'Service temporarily unavailable' },
  /** An unexpected server error; the request id in the logs tells what happened. */
  internal_error: { status: 500, message: 'Internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** One validation problem: where it is and what is wrong. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** The error body of every failed request: HTTP `{ error }` and ack `{ ok: false, error }`. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  /** Present with `rate_limited` and `unavailable`: when to retry. */
  retryAfterMs?: number;
  /** Present with `invalid_payload`: each failing field. */
  details?: ValidationIssue[];
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalogue, value);
}

/** The HTTP status a code maps to. */
export function httpStatusOf(code: ErrorCode): number {
  return errorCatalogue[code].status;
}
