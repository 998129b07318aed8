import type { ServerJoinRequest, ServerRefRequest } from './community.schemas.ts';
import type { ErrorCode, ErrorPayload } from './errors.ts';
import type {
  Channel,
  ChatMessage,
  FileInfo,
  JoinRequest,
  Member,
  RemovalReason,
  Role,
  IceServer,
  Server,
  ServerDetails,
  ServerJoined,
  ServerPreview,
  SessionEndReason,
  VoiceGrant,
  VoiceOwnership,
  VoiceParticipant,
} from './models.ts';
import type {
  EmptyRequest,
  IceCandidateRequest,
  PresenceStatus,
  PresenceUpdateRequest,
  RelayScope,
  SdpSignalRequest,
  VoiceRoomRequest,
  VoiceStateUpdateRequest,
  VoiceStreamSetRequest,
} from './voice.schemas.ts';
import type {
  ChatDeleteRequest,
  ChatEditRequest,
  ChatFetchRequest,
  ChatReactRequest,
  ChatResumeRequest,
  ChatSendRequest,
  ChatTypingRequest,
} from './chat.schemas.ts';
import type { AccountSyncRequest } from './schemas.ts';

/** The reply to every client→server event. */
export type AckResponse<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorPayload };
export type Ack<T extends object = object> = (response: AckResponse<T>) => void;

export interface ChatSendResult {
  message: ChatMessage;
}

export interface ChatFetchResult {
  /** Oldest first. */
  items: ChatMessage[];
  /** True when more messages exist beyond the page: older ones (the default, `before`), newer ones (`after`). */
  hasMore: boolean;
}

/** What one channel missed, in a `chat:resume` acknowledgement. */
export interface ChannelResume {
  conversationId: string;
  /** Every message after the client's seq, in seq order; deleted ones as tombstones. */
  items: ChatMessage[];
  /** The channel's newest seq now. */
  lastSeq: number;
  /** More than 500 were missed: nothing is replayed; fetch the history afresh. */
  resyncRequired: boolean;
  /** Set when the channel cannot be read (`channel_not_found`, `not_a_member`, `forbidden`): forget it. */
  error?: ErrorCode;
}

export interface ChatResumeResult {
  channels: ChannelResume[];
}

/** A reaction toggled: who, which emoji, and the emoji's count now. */
export interface ChatReactionEvent {
  conversationId: string;
  messageId: string;
  emoji: string;
  userId: string;
  /** True when added, false when removed. */
  added: boolean;
  count: number;
}

/** Someone is typing in a channel; hide it after `expiresInMs` unless renewed. */
export interface ChatTypingEvent {
  conversationId: string;
  userId: string;
  displayName: string;
  expiresInMs: number;
}

/** An `account_sync` as the user's other connections receive it. */
export interface AccountSyncMessage {
  /** The sending connection's client instance id. */
  clientInstanceId: string;
  payload: AccountSyncRequest['payload'];
  /** The sender's user id: always the receiver's own. */
  fromUserId: string;
}

/** The Gryt seed's `server:error`: the same failure as the `server:join` acknowledgement's error. */
export interface ServerErrorEvent {
  error: ErrorCode;
  message?: string;
  retryAfterMs?: number;
  canReapply?: boolean;
}

/** The Gryt seed's `voice:room:error`: the same failure as the `voice:room:request` acknowledgement's error. */
export interface VoiceErrorEvent {
  error: ErrorCode;
  message?: string;
  retryAfterMs?: number;
}

/** The success of `voice_client_takeover`. */
export interface VoiceTakeoverResult {
  /** The device that owned voice before, or null when none did. */
  previousClientInstanceId: string | null;
  /** The user's place in a voice room, now bound to this connection; null when not in a room. */
  participant: VoiceParticipant | null;
  /** A fresh SFU grant for that room (the old device's token was for the old device); null when not in a room. */
  grant: VoiceGrant | null;
  /** STUN and TURN servers for peer-to-peer calls. */
  iceServers: IceServer[];
}

/** Why a participant left a voice room. */
export type VoiceLeaveReason = 'left' | 'moved' | 'disconnected' | 'node_lost' | 'removed';

/**
 * Why a connection is no longer the user's voice device: another device took
 * over; the user left the community or the channel was deleted; or the pod
 * holding it was presumed dead (it froze past its heartbeat).
 */
export type VoiceReleaseReason = 'takeover' | 'removed' | 'node_lost';

/** A relayed WebRTC signal as its target receives it. */
export interface RelayedSignal {
  fromUserId: string;
  /** The sender's voice device: answers go back to it. */
  fromClientInstanceId: string;
  scope: RelayScope;
  callId?: string;
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
  /**
   * Edit one's own message; the channel receives `chat:edited`.
   * Errors: `invalid_payload`, `channel_not_found`, `not_a_member`, `forbidden`, `message_not_found`, `rate_limited`.
   */
  'chat:edit': (payload: ChatEditRequest, ack: Ack<ChatSendResult>) => void;
  /**
   * Delete one's own message, or anyone's with `manage_messages`; the channel receives `chat:deleted`.
   * Errors: `invalid_payload`, `channel_not_found`, `not_a_member`, `forbidden`, `message_not_found`, `rate_limited`.
   */
  'chat:delete': (payload: ChatDeleteRequest, ack: Ack) => void;
  /**
   * Toggle one's reaction with an emoji; the channel receives `chat:reaction`.
   * Errors: `invalid_payload`, `channel_not_found`, `not_a_member`, `forbidden`, `message_not_found`, `limit_reached`, `rate_limited`.
   */
  'chat:react': (payload: ChatReactRequest, ack: Ack<ChatReactionEvent>) => void;
  /** Show that one is typing (at most once; the indicator expires). Errors: as `chat:send`. */
  'chat:typing': (payload: ChatTypingRequest, ack: Ack) => void;
  /**
   * After a reconnect: replay what each channel missed since the given seqs.
   * Errors: `invalid_payload`, `rate_limited`, `unavailable` (per channel: see ChannelResume).
   */
  'chat:resume': (payload: ChatResumeRequest, ack: Ack<ChatResumeResult>) => void;
  /**
   * Join a community; every connection of the user, on every pod, enters its rooms.
   * Also answered with `server:joined` or `server:error`. Joining again as a member succeeds (`joined: false`).
   * Errors: `invalid_payload`, `server_not_found`, `banned`, `invite_required`, `invalid_invite`,
   * `server_password_required`, `invalid_server_password`, `too_many_attempts`, `join_request_pending`,
   * `join_request_rejected`, `server_full`, `rate_limited`, `unavailable`.
   */
  'server:join': (payload: ServerJoinRequest, ack: Ack<ServerJoined>) => void;
  /** Leave a community (the membership is deactivated). Errors: `server_not_found`, `not_a_member`, `owner_cannot_leave`. */
  'server:leave': (payload: ServerRefRequest, ack: Ack) => void;
  /** Full state for the UI, members only; also emitted as `server:details`. Errors: `server_not_found`, `not_a_member`. */
  'server:details': (payload: ServerRefRequest, ack: Ack<ServerDetails>) => void;
  /** Public preview, no join needed; also emitted as `server:info`. Errors: `server_not_found`. */
  'server:info': (payload: ServerRefRequest, ack: Ack<ServerPreview>) => void;
  /**
   * Set this connection's status; the acknowledgement carries the user's status
   * aggregated over all their connections. Errors: `invalid_payload`, `rate_limited`, `unavailable`.
   */
  'presence:update': (payload: PresenceUpdateRequest, ack: Ack<{ status: PresenceStatus }>) => void;
  /**
   * Join a voice channel through the SFU: this connection becomes the user's
   * voice device and takes a place in the room. Also answered with
   * `voice:room:granted` or `voice:room:error`. Errors: `invalid_payload`,
   * `channel_not_found`, `not_a_member`, `forbidden`, `room_full`, `voice_in_use`,
   * `voice_unavailable`, `rate_limited`, `unavailable`.
   */
  'voice:room:request': (roomId: VoiceRoomRequest, ack: Ack<VoiceGrant>) => void;
  /**
   * The SFU stream id once media flows (`participant` returned), or `""` to
   * leave voice (`participant: null`). Errors: `invalid_payload`, `not_voice_owner`, `rate_limited`.
   */
  'voice:stream:set': (streamID: VoiceStreamSetRequest, ack: Ack<{ participant: VoiceParticipant | null }>) => void;
  /**
   * Mute, deafen, AFK flags; the room receives `voice:state`. A server-muted
   * user cannot unmute. Errors: `invalid_payload`, `not_voice_owner`, `muted`, `rate_limited`.
   */
  'voice:state:update': (payload: VoiceStateUpdateRequest, ack: Ack<{ participant: VoiceParticipant }>) => void;
  /** Leave voice (room and ownership). Errors: `not_voice_owner`, `rate_limited`. */
  'voice:leave': (payload: EmptyRequest, ack: Ack) => void;
  /**
   * Make this connection the user's voice device: the previous one hears
   * `voice:released`; a room place moves with it. Errors: `rate_limited`, `unavailable`.
   */
  voice_client_takeover: (payload: EmptyRequest, ack: Ack<VoiceTakeoverResult>) => void;
  /**
   * Relay a WebRTC offer to the target's voice device. The sender must own its
   * own voice (answers come back to it). Errors: `invalid_payload`, `invalid_target`,
   * `not_voice_owner`, `peer_unavailable`, `not_a_member`, `rate_limited`.
   */
  offer: (payload: SdpSignalRequest, ack: Ack) => void;
  /** Relay a WebRTC answer. Errors: as `offer`. */
  answer: (payload: SdpSignalRequest, ack: Ack) => void;
  /** Relay an offer on an established peer connection (renegotiation). Errors: as `offer`. */
  renegotiate: (payload: SdpSignalRequest, ack: Ack) => void;
  /** Relay one ICE candidate. Errors: as `offer`. */
  ice_candidate: (payload: IceCandidateRequest, ack: Ack) => void;
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
  /** A message of a channel the user can read was edited: the whole message, `editedAt` set. */
  'chat:edited': (message: ChatMessage) => void;
  'chat:deleted': (event: { conversationId: string; messageId: string; seq: number }) => void;
  'chat:reaction': (event: ChatReactionEvent) => void;
  /** Not sent back to the typing user's own connections. */
  'chat:typing': (event: ChatTypingEvent) => void;
  /** `server:join` succeeded (the seed's reply event; the acknowledgement carries the same). */
  'server:joined': (joined: ServerJoined) => void;
  /** `server:join` failed (the seed's reply event). */
  'server:error': (error: ServerErrorEvent) => void;
  'server:details': (details: ServerDetails) => void;
  'server:info': (preview: ServerPreview) => void;
  /** To the user's connections: they are no longer in this community's rooms. */
  'server:removed': (event: { serverId: string; reason: RemovalReason }) => void;
  /** To the community's room: its settings changed. */
  'server:updated': (server: Server) => void;
  /** To the community's room. */
  'server:member_joined': (event: { serverId: string; member: Member }) => void;
  /** To the community's room: a member left, was kicked or banned. */
  'server:member_left': (event: { serverId: string; userId: string; reason: RemovalReason }) => void;
  /** To the community's room: nickname, roles or mute changed. */
  'server:member_updated': (event: { serverId: string; member: Member }) => void;
  /** To the community's room: a channel was created or changed. */
  'channel:updated': (channel: Channel) => void;
  'channel:deleted': (event: { serverId: string; channelId: string }) => void;
  /** To the community's room: a role was created or changed. */
  'role:updated': (role: Role) => void;
  'role:deleted': (event: { serverId: string; roleId: string }) => void;
  /** To the uploader's connections: a file's processing finished (thumbnails, dimensions, placeholder). */
  'file:ready': (file: FileInfo) => void;
  /** To the uploader's connections: a file's processing failed; `failureReason` says why. */
  'file:failed': (file: FileInfo) => void;
  /** To the channel's readers: an attachment of a message changed (it became ready or failed). */
  'chat:attachment': (event: { conversationId: string; messageId: string; attachment: FileInfo }) => void;
  /** To the requester's connections: a moderator approved or rejected their join request. */
  'join_request:updated': (request: JoinRequest) => void;
  /**
   * To the rooms of the user's communities (of at most 1000 members): the
   * user's aggregated status changed. `offline` → another status is the user
   * coming online (the seeds' `user_joined`), → `offline` leaving (`user_left`):
   * once per person, however many devices.
   */
  'presence:updated': (event: { userId: string; status: PresenceStatus }) => void;
  /** `voice:room:request` succeeded (the seed's reply event). */
  'voice:room:granted': (grant: VoiceGrant) => void;
  /** `voice:room:request` failed (the seed's reply event). */
  'voice:room:error': (error: VoiceErrorEvent) => void;
  /** To the voice room: a participant's state changed (stream, mute, deafen, AFK, server mute). */
  'voice:state': (participant: VoiceParticipant) => void;
  /** To the voice channel's readers: someone joined it. */
  'voice:joined': (participant: VoiceParticipant) => void;
  /** To the voice channel's readers: someone left it. */
  'voice:left': (event: { serverId: string; channelId: string; userId: string; reason: VoiceLeaveReason }) => void;
  /** To all of the user's connections: which device owns voice now. */
  'voice:owner': (ownership: VoiceOwnership) => void;
  /** To the connection that owned voice: stop sending media and close peer connections. */
  'voice:released': (event: { reason: VoiceReleaseReason; byClientInstanceId?: string }) => void;
  /** A WebRTC offer for this connection (the user's voice device). */
  offer: (signal: RelayedSignal & { sdp: string }) => void;
  answer: (signal: RelayedSignal & { sdp: string }) => void;
  renegotiate: (signal: RelayedSignal & { sdp: string }) => void;
  ice_candidate: (signal: RelayedSignal & { candidate: IceCandidateRequest['candidate'] }) => void;
}

/** Messages between pods, beyond the adapter's own. */
export interface InterServerEvents {
  /**
   * Roles or channel overrides of a community changed: each pod recomputes
   * which channel rooms its sockets of these users (all members when omitted) belong in.
   */
  'rooms:refresh': (event: { serverId: string; userIds?: string[] }) => void;
  /**
   * Something that decides who may do what in a community changed (roles,
   * overrides, membership, mutes, ownership, channels): each pod drops the
   * access it remembers for it. A `rooms:refresh` implies it.
   */
  'access:changed': (event: { serverId: string }) => void;
}

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
  /** The client's IP as the pod believes it (see `TRUST_PROXY_HOPS`), read from the handshake's request before the pod drops it. */
  address: string;
}

export type ClientEventName = keyof ClientToServerEvents;

/** The success body of a client event's acknowledgement. */
export type AckResult<E extends ClientEventName> =
  Parameters<ClientToServerEvents[E]>[1] extends Ack<infer T> ? T : never;

/** The payload a client event takes. */
export type EventPayload<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[0];
