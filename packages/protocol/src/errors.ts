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
  /** A community needs an invite code to join (`server:join` without one). */
  invite_required: { status: 403, message: 'This server can only be joined with an invite' },
  /** The invite code is unknown, for another server, expired, revoked or used up. Counts as a failed attempt. */
  invalid_invite: { status: 403, message: 'The invite is invalid or has expired' },
  /** A `password` community was joined without its password. */
  server_password_required: { status: 403, message: 'This server requires a password' },
  /** The community password is wrong. Counts as a failed attempt. */
  invalid_server_password: { status: 403, message: 'The server password is incorrect' },
  /** Too many failed invite or password attempts: locked out for `retryAfterMs`. */
  too_many_attempts: { status: 429, message: 'Too many failed attempts; try again later' },
  /** The actor is banned from this community (until `retryAfterMs` when the ban expires). */
  banned: { status: 403, message: 'You are banned from this server' },
  /** The community has reached its member limit. */
  server_full: { status: 409, message: 'This server is full' },
  /** A `request` community: a join request is waiting for a moderator (one was created if none was). */
  join_request_pending: { status: 409, message: 'Your request to join is waiting for approval' },
  /** A `request` community rejected the actor's request; `canReapply` says whether a new one may be sent. */
  join_request_rejected: { status: 403, message: 'Your request to join was rejected' },
  /** The actor is already a member of this community. */
  already_member: { status: 409, message: 'You are already a member of this server' },
  /** The owner cannot leave their community; they transfer it first (or delete it). */
  owner_cannot_leave: { status: 409, message: 'The owner cannot leave the server' },
  /** Acting on a member (or role) needs a strictly higher role rank than theirs. */
  insufficient_rank: { status: 403, message: 'Your role must rank above the one you act on' },
  /** The actor is server-muted: they may read but not send or speak. */
  muted: { status: 403, message: 'You are muted on this server' },
  /** No message with that id in that channel (or it was deleted). */
  message_not_found: { status: 404, message: 'Message not found' },
  /** An attachment is not a file the sender uploaded. */
  invalid_attachment: { status: 400, message: 'An attachment is not one of your uploaded files' },
  /** No file with that id that the caller may see (the same answer for one that exists but is private). */
  file_not_found: { status: 404, message: 'File not found' },
  /** An avatar or icon must be one of the caller's own uploaded images, processed (`ready`). */
  invalid_file: { status: 400, message: 'The file cannot be used here' },
  /** A presigned upload was completed before its bytes were stored. */
  upload_incomplete: { status: 409, message: 'The upload has not been stored yet' },
  /** The upload would take the user past their storage quota (`UPLOAD_QUOTA_BYTES`). */
  quota_exceeded: { status: 413, message: 'Your storage quota is used up' },
  /** Uploads are not configured on this cluster (no object storage). */
  uploads_unavailable: { status: 503, message: 'Uploads are not available on this server' },
  /** `replyToMessageId` is not a message of the same channel. */
  invalid_reply: { status: 400, message: 'A reply must point to a message in the same channel' },
  /** Too much was missed to replay: fetch the channel's history afresh. */
  resync_required: { status: 409, message: 'Too many messages were missed; fetch the history again' },
  /** The voice channel has `VOICE_MAX_USERS` participants. */
  room_full: { status: 409, message: 'This voice channel is full' },
  /** No SFU is configured (`SFU_PUBLIC_HOST`): voice rooms cannot be granted. */
  voice_unavailable: { status: 503, message: 'Voice is not available on this server' },
  /** Another device of this user owns voice; send `voice_client_takeover` from this one to move it. */
  voice_in_use: { status: 409, message: 'Voice is active on another of your devices' },
  /** This connection is not in voice: another device took over, it left, or it never joined (a room, for room events). */
  not_voice_owner: { status: 409, message: 'This connection is not your voice device' },
  /** The target user has no reachable voice device, or does not accept signals from the sender. */
  peer_unavailable: { status: 404, message: 'That user cannot be reached' },
  /** A WebRTC signal or a block named the actor themself. */
  invalid_target: { status: 400, message: 'You cannot target yourself' },
  /** No user with that id. */
  user_not_found: { status: 404, message: 'User not found' },
  /** No member with that user id in this community. */
  member_not_found: { status: 404, message: 'Member not found' },
  /** No role with that id in this community. */
  role_not_found: { status: 404, message: 'Role not found' },
  /** No invite with that code in this community. */
  invite_not_found: { status: 404, message: 'Invite not found' },
  /** The user is not banned from this community. */
  ban_not_found: { status: 404, message: 'Ban not found' },
  /** No join request with that id, or not one the actor may see. */
  join_request_not_found: { status: 404, message: 'Join request not found' },
  /** The name is already used by another role of this community. */
  name_taken: { status: 409, message: 'That name is already taken' },
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
  /** Present with `rate_limited`, `too_many_attempts`, `unavailable` (and `banned` until a ban's expiry): when to retry. */
  retryAfterMs?: number;
  /** Present with `join_request_rejected`: whether a new join request may be sent. */
  canReapply?: boolean;
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
