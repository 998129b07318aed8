import { z } from 'zod';
import { limits } from './limits.ts';

/**
 * Zod schemas for every inbound payload. The server parses with these; clients
 * may use them to validate before sending. Unknown keys are stripped, so the
 * seeds' extra fields (such as `accessToken` on `chat:send`) are accepted and ignored.
 */

const id = z.uuid({ error: 'must be a UUID' });

const username = z
  .string()
  .trim()
  .min(limits.username.min)
  .max(limits.username.max)
  .regex(/^[A-Za-z0-9_.-]+$/, 'may contain only letters, digits, "_", "." and "-"');

const displayName = z.string().trim().min(1).max(limits.displayName.max);

export const registerRequest = z.object({
  username,
  password: z.string().min(limits.password.min).max(limits.password.max),
  /** Defaults to the username. */
  displayName: displayName.optional(),
});
export type RegisterRequest = z.infer<typeof registerRequest>;

export const loginRequest = z.object({
  username: z.string().trim().min(1).max(limits.username.max),
  password: z.string().min(1).max(limits.password.max),
});
export type LoginRequest = z.infer<typeof loginRequest>;

export const createServerRequest = z.object({
  name: z.string().trim().min(1).max(limits.serverName.max),
  description: z.string().trim().max(limits.serverDescription.max).optional(),
});
export type CreateServerRequest = z.infer<typeof createServerRequest>;

/** The Socket.IO handshake `auth` object. */
export const handshakeAuth = z.object({
  /** Session token (or, later, an OIDC access token). */
  token: z.string().min(1).max(limits.token.max),
  /** Stable per-tab id chosen by the client; distinguishes one user's connections. */
  clientInstanceId: z
    .string()
    .min(1)
    .max(limits.clientInstanceId.max)
    .regex(/^[\w.:-]+$/, 'may contain only letters, digits, "_", ".", ":" and "-"'),
  /** The signaling URL the client believes it is talking to (MetoYou seed). */
  connectionScope: z.string().max(limits.connectionScope.max).optional(),
  displayName: displayName.optional(),
  /** The seed's spelling of the user id; when present it must match the token's user. */
  oderId: id.optional(),
});
export type HandshakeAuth = z.infer<typeof handshakeAuth>;

const fetchLimit = z
  .number()
  .int()
  .min(1)
  .transform((n) => Math.min(n, limits.fetchLimit.max));

/**
 * A history cursor: a `seq` (messages with a smaller seq) or, as in the Gryt
 * seed, an ISO timestamp (messages created before it).
 */
const beforeCursor = z.union([z.number().int().positive(), z.iso.datetime({ offset: true })]);

export const chatSendRequest = z.object({
  conversationId: id,
  text: z.string().trim().min(1, 'must not be empty').max(limits.messageText.max),
  /** Idempotency key: a retry with the same nonce returns the first message. */
  nonce: z.string().min(1).max(limits.nonce.max).optional(),
});
export type ChatSendRequest = z.input<typeof chatSendRequest>;

export const chatFetchRequest = z.object({
  conversationId: id,
  /** Default 50; values above 100 are clamped to 100. */
  limit: fetchLimit.optional(),
  before: beforeCursor.optional(),
});
export type ChatFetchRequest = z.input<typeof chatFetchRequest>;

/** `GET /api/messages/:conversationId` query string: the same cursor, as text. */
export const messagesQuery = z.object({
  limit: z.coerce.number().pipe(fetchLimit).optional(),
  before: z
    .string()
    .max(64)
    .transform((value) => (/^\d+$/.test(value) ? Number(value) : value))
    .pipe(beforeCursor)
    .optional(),
});
