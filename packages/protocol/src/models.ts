/** Public shapes the server sends. Timestamps are ISO 8601 strings. */

/** A signed-in account and its new session token. */
export interface AuthSession {
  id: string;
  username: string;
  displayName: string;
  /** Opaque session token: 64 hex characters. Send as `Authorization: Bearer` and in the socket handshake. */
  token: string;
  /** Expiry as Unix epoch milliseconds. */
  expiresAt: number;
}

/** The signed-in account, as `GET /api/users/me` returns it. */
export interface UserProfile {
  id: string;
  username: string;
  displayName: string;
  createdAt: string;
  /** How this account can sign in: with a password, through an OpenID provider, or both. */
  signInMethods: Array<'password' | 'oidc'>;
}

/** A push token registered by one of the user's devices. */
export interface DeviceToken {
  id: string;
  platform: 'apns' | 'fcm' | 'web';
  token: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * Why the server is about to close a connection:
 * `logout` / `password_change` / `admin` — its session was revoked;
 * `expired` — its token expired; `replaced` — the same client instance connected again.
 */
export type SessionEndReason = 'logout' | 'password_change' | 'admin' | 'expired' | 'replaced';

export type ChannelType = 'text' | 'voice';
export type JoinPolicy = 'open' | 'invite' | 'request' | 'password';

export interface Channel {
  id: string;
  serverId: string;
  name: string;
  type: ChannelType;
  position: number;
}

export interface Server {
  id: string;
  name: string;
  description: string | null;
  ownerId: string | null;
  joinPolicy: JoinPolicy;
  discoverable: boolean;
  createdAt: string;
}

export interface ServerWithChannels extends Server {
  channels: Channel[];
}

export interface MessageAuthor {
  id: string;
  username: string;
  displayName: string;
}

export interface ChatMessage {
  id: string;
  /** The channel id: the seeds call a channel's message stream a conversation. */
  conversationId: string;
  /** Position in the channel: starts at 1 and increases by exactly 1 per message. */
  seq: number;
  /** Null once the author's account is deleted. */
  author: MessageAuthor | null;
  text: string;
  /** The sender's idempotency key, echoed back so a client can match its pending send. */
  nonce: string | null;
  replyToMessageId: string | null;
  createdAt: string;
  editedAt: string | null;
}
