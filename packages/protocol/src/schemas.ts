import { z } from 'zod';
import { id } from './ids.ts';
import { limits } from './limits.ts';
import { plainDataProblem } from './plain-data.ts';
import { text } from './text.ts';

/**
 * Zod schemas for every inbound payload. The server parses with these; clients
 * may use them to validate before sending. Unknown keys are stripped, so the
 * seeds' extra fields (such as `accessToken` on `chat:send`) are accepted and ignored.
 */

const username = z
  .string()
  .trim()
  .min(limits.username.min)
  .max(limits.username.max)
  .regex(/^[A-Za-z0-9_.-]+$/, 'may contain only letters, digits, "_", "." and "-"');

const displayName = text().trim().min(1).max(limits.displayName.max);

export const registerRequest = z.object({
  username,
  password: text().min(limits.password.min).max(limits.password.max),
  /** Defaults to the username. */
  displayName: displayName.optional(),
});
export type RegisterRequest = z.infer<typeof registerRequest>;

export const loginRequest = z.object({
  username: text().trim().min(1).max(limits.username.max),
  password: text().min(1).max(limits.password.max),
});
export type LoginRequest = z.infer<typeof loginRequest>;

/** `PATCH /api/users/me`: at least one change. */
export const updateMeRequest = z
  .object({
    displayName: displayName.optional(),
    /** Required with `newPassword` when the account has a password. */
    currentPassword: text().min(1).max(limits.password.max).optional(),
    newPassword: text().min(limits.password.min).max(limits.password.max).optional(),
    /** With `newPassword`: end every other session of the account (default false). */
    revokeOtherSessions: z.boolean().optional(),
    /** One of the caller's uploaded images (purpose `avatar`), processed; null removes the avatar. */
    avatarFileId: id.nullable().optional(),
  })
  .refine((body) => body.displayName !== undefined || body.newPassword !== undefined || body.avatarFileId !== undefined, {
    message: 'must change displayName, newPassword or avatarFileId',
  })
  .refine((body) => body.revokeOtherSessions === undefined || body.newPassword !== undefined, {
    message: 'revokeOtherSessions goes with newPassword',
    path: ['revokeOtherSessions'],
  });
export type UpdateMeRequest = z.infer<typeof updateMeRequest>;

export const devicePlatforms = ['apns', 'fcm', 'web'] as const;

/** `POST /api/users/device-tokens`: registers (or refreshes) a push token for this account. */
export const addDeviceTokenRequest = z.object({
  platform: z.enum(devicePlatforms),
  token: text().trim().min(1).max(limits.deviceToken.max),
});
export type AddDeviceTokenRequest = z.infer<typeof addDeviceTokenRequest>;

/** The Socket.IO handshake `auth` object. */
export const handshakeAuth = z.object({
  /** Session token (or, later, an OIDC access token). */
  token: text().min(1).max(limits.token.max),
  /** Stable per-tab id chosen by the client; distinguishes one user's connections. */
  clientInstanceId: z
    .string()
    .min(1)
    .max(limits.clientInstanceId.max)
    .regex(/^[\w.:-]+$/, 'may contain only letters, digits, "_", ".", ":" and "-"'),
  /** The signaling URL the client believes it is talking to (MetoYou seed). */
  connectionScope: text().max(limits.connectionScope.max).optional(),
  displayName: displayName.optional(),
  /** The seed's spelling of the user id; when present it must match the token's user. */
  oderId: id.optional(),
});
export type HandshakeAuth = z.infer<typeof handshakeAuth>;

/**
 * The `account_sync` payload types a client may send (the MetoYou seed's,
 * plus relays of its peer-to-peer broadcast events). Anything else is refused.
 */
export const accountSyncTypes = [
  'saved-room-sync',
  'saved-room-remove',
  'user-avatar-full',
  'user-avatar-chunk',
  'custom-emoji-full',
  'custom-emoji-chunk',
  'friend-added',
  'friend-removed',
  'server-icon-update',
  'message-edited',
  'message-deleted',
  'reaction-added',
  'reaction-removed',
] as const;
export type AccountSyncType = (typeof accountSyncTypes)[number];

const utf8 = new TextEncoder();

/**
 * Relayed as sent to the user's other devices (and decoded by every pod that
 * holds one), so bounded in depth before its size is measured.
 */
const accountSyncPayload = z.looseObject({ type: z.enum(accountSyncTypes) }).superRefine((payload, ctx) => {
  const problem = plainDataProblem(payload, limits.accountSyncPayload.maxDepth);
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  } else if (utf8.encode(JSON.stringify(payload)).length > limits.accountSyncPayload.maxBytes) {
    ctx.addIssue({ code: 'custom', message: `must be at most ${limits.accountSyncPayload.maxBytes} bytes as JSON` });
  }
});

/**
 * `account_sync`: relayed to the sender's other connections; the server reads
 * nothing of `payload` beyond its type and size.
 */
export const accountSyncRequest = z.object({
  /** Accepted for the seed's clients and ignored: the server stamps the connection's own id. */
  clientInstanceId: text().max(limits.clientInstanceId.max).optional(),
  payload: accountSyncPayload,
});
export type AccountSyncRequest = z.infer<typeof accountSyncRequest>;
