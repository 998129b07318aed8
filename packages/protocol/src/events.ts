import type { ErrorPayload } from './errors.ts';
import type { ChatMessage } from './models.ts';
import type { ChatFetchRequest, ChatSendRequest } from './schemas.ts';

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

/** Events a client emits; each takes an acknowledgement. */
export interface ClientToServerEvents {
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
  /** A new message in a channel the user can read; not sent back to the sending socket. */
  'chat:new': (message: ChatMessage) => void;
}

/** Messages between pods (none yet beyond the adapter's own). */
export type InterServerEvents = Record<string, never>;

/** What the handshake establishes for a socket's lifetime. */
export interface SocketData {
  userId: string;
  sessionId: string;
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
