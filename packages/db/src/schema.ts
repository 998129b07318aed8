import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/**
 * Row types of the migrated schema, written by hand and checked against the
 * real tables by `schema.test.ts`. `bigint` columns are read as JS numbers
 * (both drivers are configured so); timestamps as `Date`.
 */

/** A timestamp the database fills in. */
type CreatedAt = ColumnType<Date, Date | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | undefined, Date>;

export interface UsersTable {
  id: Generated<string>;
  username: string;
  display_name: string;
  /**
   * PHC string (argon2id). Imported accounts may hold a bcrypt hash or the
   * seed's legacy unsalted SHA-256 until their next sign-in upgrades it.
   * Null for accounts that only sign in through OIDC.
   */
  password_hash: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** An uploaded image (purpose `avatar`). */
  avatar_file_id: string | null;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  /** SHA-256 of the session token, hex. The token itself is never stored. */
  token_hash: string;
  created_at: CreatedAt;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: RevokedReason | null;
}

export type RevokedReason = 'logout' | 'password_change' | 'admin';

/** A person signed in through an OpenID provider: (issuer, subject) names them for good. */
export interface OidcIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: CreatedAt;
}

export type DevicePlatform = 'apns' | 'fcm' | 'web';

/** A push token; unique across users, so a device that changes account moves with it. */
export interface DeviceTokensTable {
  id: Generated<string>;
  user_id: string;
  platform: DevicePlatform;
  token: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ServersTable {
  id: Generated<string>;
  name: string;
  description: string | null;
  owner_id: string | null;
  join_policy: ColumnType<'open' | 'invite' | 'request' | 'password', 'open' | 'invite' | 'request' | 'password' | undefined>;
  discoverable: Generated<boolean>;
  max_members: number | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** The community `SERVER_NAME` runs; at most one row. */
  is_default: Generated<boolean>;
  /** argon2id of a `password` community's join password. */
  password_hash: string | null;
  /** Set by an operator: listed by `GET /api/servers/featured`. */
  featured_at: Date | null;
  /** The community's icon: an https URL. */
  icon_url: string | null;
  /** The community's icon as an uploaded image (purpose `icon`); wins over `icon_url`. */
  icon_file_id: string | null;
  /** Active members; kept by the transactions that add and remove them. */
  member_count: Generated<number>;
}

export interface ChannelsTable {
  id: Generated<string>;
  server_id: string;
  name: string;
  type: 'text' | 'voice';
  position: Generated<number>;
  /** The seq of the channel's newest message; bumped under the row lock by the statement that stores the next one. */
  last_seq: Generated<number>;
  created_at: CreatedAt;
}

export interface MembersTable {
  server_id: string;
  user_id: string;
  nickname: string | null;
  active: Generated<boolean>;
  joined_at: ColumnType<Date, Date | undefined, Date>;
  /** Server mute: in force while true and `muted_until` is null or ahead. */
  muted: Generated<boolean>;
  muted_until: Date | null;
}

export type BuiltinRoleKey = 'admin' | 'moderator' | 'member' | 'guest';

export interface RolesTable {
  id: Generated<string>;
  server_id: string;
  name: string;
  builtin: BuiltinRoleKey | null;
  rank: number;
  permissions: ColumnType<string[], string[] | undefined, string[]>;
  created_at: CreatedAt;
}

export interface MemberRolesTable {
  server_id: string;
  user_id: string;
  role_id: string;
}

export interface ChannelOverridesTable {
  channel_id: string;
  role_id: string;
  allow: ColumnType<string[], string[] | undefined, string[]>;
  deny: ColumnType<string[], string[] | undefined, string[]>;
}

export interface InvitesTable {
  code: string;
  server_id: string;
  created_by: string | null;
  /** Null: unlimited. */
  max_uses: number | null;
  uses: Generated<number>;
  expires_at: Date | null;
  revoked_at: Date | null;
  note: string | null;
  created_at: CreatedAt;
}

export interface BansTable {
  server_id: string;
  user_id: string;
  reason: string | null;
  banned_by: string | null;
  created_at: ColumnType<Date, Date | undefined, Date>;
  /** Null: until unbanned. */
  expires_at: Date | null;
}

export interface JoinRequestsTable {
  id: Generated<string>;
  server_id: string;
  user_id: string;
  message: string | null;
  status: ColumnType<'pending' | 'approved' | 'rejected', 'pending' | undefined, 'approved' | 'rejected'>;
  decided_by: string | null;
  decided_at: Date | null;
  created_at: CreatedAt;
}

export interface AuditLogTable {
  id: Generated<number>;
  /** Null for actions on no community. */
  server_id: string | null;
  /** Null for the admin CLI and the system. */
  actor_id: string | null;
  action: string;
  target_user_id: string | null;
  target_id: string | null;
  details: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, never>;
  created_at: CreatedAt;
}

/** An uploaded file; the uploads work adds its storage fields. For now: who owns it. */
export type FilePurpose = 'attachment' | 'avatar' | 'icon';
/** `pending`: presigned, not completed; `processing`: stored, thumbnails being made; `ready`; `failed` (see `failure_reason`). */
export type FileStatus = 'pending' | 'processing' | 'ready' | 'failed';

/** An uploaded file. Its object key, and its thumbnails', derive from its id. */
export interface FilesTable {
  id: Generated<string>;
  owner_id: string;
  created_at: CreatedAt;
  /** The uploader's file name, cleaned of path parts and control characters (metadata only, never a key). */
  name: Generated<string>;
  /** Bytes stored; 0 while pending. */
  size: Generated<number>;
  /** Sniffed from the bytes, never taken from the client. */
  content_type: Generated<string>;
  purpose: ColumnType<FilePurpose, FilePurpose | undefined>;
  status: ColumnType<FileStatus, FileStatus | undefined>;
  /** The size a presigned upload announced. */
  declared_size: number | null;
  failure_reason: string | null;
  /** Of an image, once processed. */
  width: number | null;
  height: number | null;
  /** A tiny blurred preview (ThumbHash, base64), painted before the thumbnail loads. */
  placeholder: string | null;
  /** True once the thumbnail objects exist. */
  thumbnails: Generated<boolean>;
}

export interface MessageAttachmentsTable {
  message_id: string;
  file_id: string;
  /** Order of the attachment in its message, from 0. */
  position: number;
}

/** One user's reaction with one emoji to one message. */
export interface MessageReactionsTable {
  message_id: string;
  user_id: string;
  emoji: string;
  created_at: CreatedAt;
}

/** Joins and messages of one community in one hour (truncated). */
export interface ServerActivityTable {
  server_id: string;
  hour: Date;
  joins: Generated<number>;
  messages: Generated<number>;
}

export interface MessagesTable {
  id: Generated<string>;
  channel_id: string;
  seq: number;
  author_id: string | null;
  text: string;
  nonce: string | null;
  reply_to_id: string | null;
  created_at: CreatedAt;
  edited_at: Date | null;
  deleted_at: Date | null;
}

/** A JSON Web Key (RFC 7517) as stored; never updated in place. */
type StoredJwk = ColumnType<Record<string, unknown>, Record<string, unknown>, never>;

/**
 * A key that signs SFU join tokens during its time slot (`slot` =
 * floor(now / rotation), signing from `not_before`); published from creation
 * until `retires_at`, when the last token it signed has expired.
 */
export interface SigningKeysTable {
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  slot: number;
  algorithm: string;
  /** With `kid`, `alg` and `use`: what the JWKS publishes. */
  public_jwk: StoredJwk;
  private_jwk: StoredJwk;
  created_at: CreatedAt;
  not_before: Date;
  retires_at: Date;
}

/** Nothing from `blocked_id` is relayed to `blocker_id`. */
export interface UserBlocksTable {
  blocker_id: string;
  blocked_id: string;
  created_at: CreatedAt;
}

export interface DB {
  users: UsersTable;
  sessions: SessionsTable;
  oidc_identities: OidcIdentitiesTable;
  device_tokens: DeviceTokensTable;
  servers: ServersTable;
  channels: ChannelsTable;
  members: MembersTable;
  messages: MessagesTable;
  roles: RolesTable;
  member_roles: MemberRolesTable;
  channel_overrides: ChannelOverridesTable;
  invites: InvitesTable;
  bans: BansTable;
  join_requests: JoinRequestsTable;
  audit_log: AuditLogTable;
  server_activity: ServerActivityTable;
  files: FilesTable;
  message_attachments: MessageAttachmentsTable;
  message_reactions: MessageReactionsTable;
  signing_keys: SigningKeysTable;
  user_blocks: UserBlocksTable;
}

export type UserRow = Selectable<UsersTable>;
export type FileRow = Selectable<FilesTable>;
export type SessionRow = Selectable<SessionsTable>;
export type DeviceTokenRow = Selectable<DeviceTokensTable>;
export type ServerRow = Selectable<ServersTable>;
export type ChannelRow = Selectable<ChannelsTable>;
export type MemberRow = Selectable<MembersTable>;
export type MessageRow = Selectable<MessagesTable>;
export type NewMessage = Insertable<MessagesTable>;
export type RoleRow = Selectable<RolesTable>;
export type ChannelOverrideRow = Selectable<ChannelOverridesTable>;
export type InviteRow = Selectable<InvitesTable>;
export type BanRow = Selectable<BansTable>;
export type JoinRequestRow = Selectable<JoinRequestsTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type UserBlockRow = Selectable<UserBlocksTable>;
