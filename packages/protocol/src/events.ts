import type { ErrorPayload } from './errors.ts';
import type { ChatMessage, SessionEndReason } from './models.ts';
import type { AccountSyncRequest, ChatFetchRequest, ChatSendRequest } from './schemas.ts';

/** The reply to every client→server event. */
export type AckResponse<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorPayload };
export type Ack<T extends object = object> = (response: AckResponse<T>) => void;

export interface ChatSendResult {
  message: ChatMessage;
}

export interface ChatFetchResult {
  /** Oldest first. */
  items: ChatMessage[];
  /** True when older messages exist before the first item. */
  hasMore: boolean;
}

/** An `account_sync` as the user's other connections receive it. */
export interface AccountSyncMessage {
  /** The sending connection's client instance id. */
  clientInstanceId: string;
  payload: AccountSyncRequest['payload'];
  /** The sender's user id: always the receiver's own. */
  fromUserId: string;
}

/** Events a client emits; each takes an acknowledgement. */
export interface ClientToServerEvents {
  /**
   * Relay account-owned state to this user's other connections, on every pod (at most once).
   * Errors: `invalid_payload` (unknown type, over 64 KiB), `rate_limited`.
   */
  account_sync: (payload: AccountSyncRequest, ack: Ack) => void;
  /**
   * Send a message. Acknowledged only after it is committed.
   * Errors: `invalid_payload`, `channel_not_found`, `not_a_member`, `rate_limited`, `unavailable`.
   */
  'chat:send': (payload: ChatSendRequest, ack: Ack<ChatSendResult>) => void;
  /**
   * Fetch history, newest page first, returned oldest first.
   * Errors: `invalid_payload`, `channel_not_found`, `not_a_member`, `rate_limited`, `unavailable`.
   */
  'chat:fetch': (payload: ChatFetchRequest, ack: Ack<ChatFetchResult>) => void;
}

/** Events the server emits. */
export interface ServerToClientEvents {
  /** Another connection of the same user sent `account_sync`. */
  account_sync: (message: AccountSyncMessage) => void;
  /** Another device of the same user connected; push it a full snapshot. */
  account_sync_peer_online: (peer: { clientInstanceId: string; fromUserId: string }) => void;
  /**
   * Sent just before the server closes this connection, saying why. The client
   * must not reconnect by itself: after `replaced` another connection of the same
   * client instance has taken over; after the others it needs a new token.
   */
  'session:ended': (event: { reason: SessionEndReason }) => void;
  /** A new message in a channel the user can read; not sent back to the sending socket. */
  'chat:new': (message: ChatMessage) => void;
}

/** Messages between pods (none yet beyond the adapter's own). */
export type InterServerEvents = Record<string, never>;

/** What the handshake establishes for a socket's lifetime. */
export interface SocketData {
  userId: string;
  /** Null when the connection signed in with an OIDC access token. */
  sessionId: string | null;
  /** When the presented token expires (epoch ms); the connection is closed then. */
  expiresAt: number;
  username: string;
  displayName: string;
  clientInstanceId: string;
  connectionScope: string | null;
}

export type ClientEventName = keyof ClientToServerEvents;

/** The success body of a client event's acknowledgement. */
export type AckResult<E extends ClientEventName> =
  Parameters<ClientToServerEvents[E]>[1] extends Ack<infer T> ? T : never;

/** The payload a client event takes. */
export type EventPayload<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[0];
