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
}

export interface ChannelsTable {
  id: Generated<string>;
  server_id: string;
  name: string;
  type: 'text' | 'voice';
  position: Generated<number>;
  /** The seq of the channel's newest message; bumped under the row lock in the sending transaction. */
  last_seq: Generated<number>;
  created_at: CreatedAt;
}

export interface MembersTable {
  server_id: string;
  user_id: string;
  nickname: string | null;
  active: Generated<boolean>;
  joined_at: CreatedAt;
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

export interface DB {
  users: UsersTable;
  sessions: SessionsTable;
  oidc_identities: OidcIdentitiesTable;
  device_tokens: DeviceTokensTable;
  servers: ServersTable;
  channels: ChannelsTable;
  members: MembersTable;
  messages: MessagesTable;
}

export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type DeviceTokenRow = Selectable<DeviceTokensTable>;
export type ServerRow = Selectable<ServersTable>;
export type ChannelRow = Selectable<ChannelsTable>;
export type MemberRow = Selectable<MembersTable>;
export type MessageRow = Selectable<MessagesTable>;
export type NewMessage = Insertable<MessagesTable>;
