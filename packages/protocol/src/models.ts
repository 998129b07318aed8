import type { BuiltinRole, ChannelPermission, Permission } from './permissions.ts';
import type { PresenceStatus } from './voice.schemas.ts';

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
  /** An uploaded image (`GET /api/files/:id`), readable by anyone; null for none. */
  avatarFileId: string | null;
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

/** A channel's permission override for one role: `deny` is applied, then `allow`. */
export interface ChannelOverride {
  roleId: string;
  allow: ChannelPermission[];
  deny: ChannelPermission[];
}

export interface Channel {
  id: string;
  serverId: string;
  name: string;
  type: ChannelType;
  /** Ascending order in the channel list. */
  position: number;
  overrides: ChannelOverride[];
}

export interface Server {
  id: string;
  name: string;
  description: string | null;
  /** An https URL, or `/api/files/<iconFileId>` when the icon was uploaded; null for none. */
  iconUrl: string | null;
  /** The uploaded icon (`GET /api/files/:id`), or null. */
  iconFileId: string | null;
  /** Null until someone claims a bootstrapped community (the first to join it). */
  ownerId: string | null;
  joinPolicy: JoinPolicy;
  /** Listed by discovery (`GET /api/servers`, search, featured, trending). */
  discoverable: boolean;
  /** Null: only the deployment's limit applies. */
  maxMembers: number | null;
  memberCount: number;
  createdAt: string;
}

export interface ServerWithChannels extends Server {
  channels: Channel[];
}

/** The public preview of a community (`server:info`, discovery): no join needed. */
export interface ServerPreview {
  id: string;
  name: string;
  description: string | null;
  iconUrl: string | null;
  joinPolicy: JoinPolicy;
  /** The member count (the Gryt seed's name). */
  members: number;
  /** Parley's version. */
  version: string;
  createdAt: string;
}

export interface Role {
  id: string;
  serverId: string;
  name: string;
  /** Higher outranks lower; the owner ranks 1000, above every role. */
  rank: number;
  permissions: Permission[];
  /** Set for the four roles every community starts with; those cannot be deleted or re-ranked. */
  builtin: BuiltinRole | null;
}

export interface Member {
  serverId: string;
  userId: string;
  username: string;
  displayName: string;
  /** Their avatar (`GET /api/files/:id`, readable by anyone), or null. */
  avatarFileId: string | null;
  nickname: string | null;
  roleIds: string[];
  isOwner: boolean;
  /** Server-muted: may read, may not send or speak. */
  muted: boolean;
  /** When a timed mute ends; null while unmuted or muted indefinitely. */
  mutedUntil: string | null;
  joinedAt: string;
}

export interface Invite {
  code: string;
  serverId: string;
  createdBy: string | null;
  /** Null: unlimited. */
  maxUses: number | null;
  uses: number;
  expiresAt: string | null;
  revoked: boolean;
  note: string | null;
  createdAt: string;
}

export interface Ban {
  serverId: string;
  userId: string;
  username: string | null;
  reason: string | null;
  bannedBy: string | null;
  createdAt: string;
  /** Null: until unbanned. */
  expiresAt: string | null;
}

export type JoinRequestStatus = 'pending' | 'approved' | 'rejected';

export interface JoinRequest {
  id: string;
  serverId: string;
  userId: string;
  username: string;
  displayName: string;
  message: string | null;
  status: JoinRequestStatus;
  createdAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
}

export interface AuditEntry {
  id: number;
  serverId: string | null;
  /** Null when the action came from the admin CLI or the system. */
  actorId: string | null;
  action: string;
  targetUserId: string | null;
  /** The id of the role, channel, invite or request acted on, when not a user. */
  targetId: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}

/** What the actor may do in a community. */
export interface MemberSelf {
  member: Member;
  rank: number;
  permissions: Permission[];
}

/** Everything a member's UI shows for a community (`server:details`). */
export interface ServerDetails {
  server: Server;
  /** The channels the actor can see, in order. */
  channels: Channel[];
  roles: Role[];
  /** The first members by join time, at most 1000; `GET /api/servers/:id/members` pages through all. */
  members: Member[];
  me: MemberSelf;
  /** Presence of each listed member, by user id (`offline` when no connection is open). */
  presence: Record<string, PresenceStatus>;
  /** Who is in each voice channel the actor can see (channels with nobody are left out). */
  voice: VoiceChannelState[];
}

/** The success of `server:join` (also emitted as `server:joined`). */
export interface ServerJoined {
  serverId: string;
  nickname: string | null;
  isOwner: boolean;
  /** True for the first member of a bootstrapped community, who just became its owner: show the setup flow. */
  setupRequired: boolean;
  /** False when the actor was already a member. */
  joined: boolean;
}

/** Why a user's connections left a community. */
export type RemovalReason = 'left' | 'kicked' | 'banned' | 'deleted';

/** A page of a REST list; pass `nextCursor` as `cursor` for the next one. */
export interface Page<T> {
  items: T[];
  /** Null on the last page. */
  nextCursor: string | null;
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
  /** The attached files, in order. */
  attachments: FileInfo[];
  /** Reactions by emoji, in the order they were first used. Empty in `chat:new`. */
  reactions: Reaction[];
  createdAt: string;
  editedAt: string | null;
  /**
   * True only for a tombstone in `chat:resume`: the message at this seq was
   * deleted (its text is empty), so a client's seqs stay without gaps.
   */
  deleted: boolean;
}

export interface Reaction {
  emoji: string;
  count: number;
  /** Whether the requesting user is among them. */
  me: boolean;
}

/** A page of a community's members, with each one's presence (large communities get no live presence events). */
export interface MemberPage extends Page<Member> {
  /** By user id: the aggregated status of each member on the page. */
  presence: Record<string, PresenceStatus>;
}

/** One participant of a voice room, as everyone sees them. */
export interface VoiceParticipant {
  userId: string;
  serverId: string;
  channelId: string;
  /** The server-prefixed room id (`<serverId>:<channelId>`), as in `voice:room:granted`. */
  roomId: string;
  /** Set by `voice:stream:set` once the participant's media flows through the SFU; null before. */
  streamId: string | null;
  isMuted: boolean;
  isDeafened: boolean;
  isAFK: boolean;
  /** Muted by a moderator, or without the `speak` permission here: `isMuted` stays true. */
  serverMuted: boolean;
  joinedAt: string;
}

export interface VoiceChannelState {
  channelId: string;
  participants: VoiceParticipant[];
}

/** An ICE server for RTCPeerConnection: STUN, or TURN with short-lived credentials. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** `voice:room:granted`: what a client needs to join the SFU (the Gryt seed's field names). */
export interface VoiceGrant {
  /** `<serverId>:<channelId>`. */
  room_id: string;
  /** A short-lived JWT (ES256) the SFU verifies against `/.well-known/jwks.json`. */
  join_token: string;
  sfu_url: string;
  /** Every public SFU address when several are configured (the client picks the fastest). */
  sfu_urls?: string[];
  /** When the grant was made, epoch ms. */
  timestamp: number;
  /** STUN and TURN servers for the client's peer connection. */
  ice_servers: IceServer[];
}

/** Which connection of a user owns voice now. */
export interface VoiceOwnership {
  /** Null: no device of the user is in voice. */
  clientInstanceId: string | null;
  /** The voice channel the owner is in, if any. */
  channelId: string | null;
}

/** A user this user blocked: nothing is relayed from them. */
export interface BlockedUser {
  userId: string;
  username: string;
  displayName: string;
  createdAt: string;
}

/** What a file is for: chat attachments are private to where they are attached; avatars and icons are public. */
export type FilePurpose = 'attachment' | 'avatar' | 'icon';

/**
 * Where a file stands: `pending` (a presigned upload not completed yet),
 * `processing` (stored; an image's thumbnails are being made), `ready`, or
 * `failed` (see `failureReason`; the original may still be downloaded unless
 * the upload itself was refused).
 */
export type FileStatus = 'pending' | 'processing' | 'ready' | 'failed';

/** An uploaded file as clients see it (attachments, `file:ready`, `GET /api/files/:id/info`). */
export interface FileInfo {
  id: string;
  /** The uploader's file name, cleaned (no path, no control or bidi-override characters). */
  name: string;
  size: number;
  /** Sniffed from the bytes: `image/png`, `image/jpeg`, `image/webp`, `image/gif`, ..., else `application/octet-stream`. */
  contentType: string;
  purpose: FilePurpose;
  status: FileStatus;
  /** Why processing failed (`failed` only): `not_an_image`, `too_many_pixels`, `corrupt_image`, `processing_failed`. */
  failureReason: string | null;
  /** Of an image, once processed. */
  width: number | null;
  height: number | null;
  /** A ThumbHash (base64) to paint a blurred preview before the thumbnail loads. */
  placeholder: string | null;
  /** Thumbnail sizes available (the longer side, px), e.g. `[256, 1024]`; empty until ready. */
  thumbnails: number[];
  createdAt: string;
}

/** `POST /api/uploads` (multipart, the Gryt seed's shape). */
export interface UploadResult {
  fileId: string;
  /** The object key of the original (derived from the id, never from the name). */
  key: string;
  /** The key the largest thumbnail will have once ready; null for files that are not images. */
  thumbnailKey: string | null;
  file: FileInfo;
}

/** `POST /api/uploads/presign`: where to upload the bytes directly, then call `POST /api/uploads/:fileId/complete`. */
export interface PresignedUpload {
  fileId: string;
  /**
   * A multipart/form-data POST: the `fields` in order, then the bytes as
   * `file`. An absolute URL points at object storage; a relative one
   * (`/api/uploads/:fileId`, embedded mode) at the pod, with the Bearer token.
   */
  url: string;
  fields: Record<string, string>;
  /** The upload must be done by then (ISO 8601). */
  expiresAt: string;
}
