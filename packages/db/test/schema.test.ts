import { createTestDatabase, type TestDatabase } from '@parley/testkit/vitest';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DB } from '../src/index.ts';

/**
 * The hand-written `DB` types must match the migrated tables. `expected` is
 * typed by `DB`, so a column added to the types but not here fails to
 * compile; the query below fails when the database disagrees.
 */
type Column = { type: string; nullable: boolean };
const expected: { [T in keyof DB]: { [C in keyof DB[T]]-?: Column } } = {
  users: {
    id: { type: 'uuid', nullable: false },
    username: { type: 'text', nullable: false },
    display_name: { type: 'text', nullable: false },
    password_hash: { type: 'text', nullable: true },
    created_at: { type: 'timestamp with time zone', nullable: false },
    updated_at: { type: 'timestamp with time zone', nullable: false },
    avatar_file_id: { type: 'uuid', nullable: true },
  },
  sessions: {
    id: { type: 'uuid', nullable: false },
    user_id: { type: 'uuid', nullable: false },
    token_hash: { type: 'text', nullable: false },
    created_at: { type: 'timestamp with time zone', nullable: false },
    expires_at: { type: 'timestamp with time zone', nullable: false },
    revoked_at: { type: 'timestamp with time zone', nullable: true },
    revoked_reason: { type: 'text', nullable: true },
  },
  oidc_identities: {
    issuer: { type: 'text', nullable: false },
    subject: { type: 'text', nullable: false },
    user_id: { type: 'uuid', nullable: false },
    created_at: { type: 'timestamp with time zone', nullable: false },
  },
  device_tokens: {
    id: { type: 'uuid', nullable: false },
    user_id: { type: 'uuid', nullable: false },
    platform: { type: 'text', nullable: false },
    token: { type: 'text', nullable: false },
    created_at: { type: 'timestamp with time zone', nullable: false },
    updated_at: { type: 'timestamp with time zone', nullable: false },
  },
  servers: {
    id: { type: 'uuid', nullable: false },
    name: { type: 'text', nullable: false },
    description: { type: 'text', nullable: true },
    owner_id: { type: 'uuid', nullable: true },
    join_policy: { type: 'text', nullable: false },
    discoverable: { type: 'boolean', nullable: false },
    max_members: { type: 'integer', nullable: true },
    created_at: { type: 'timestamp with time zone', nullable: false },
    updated_at: { type: 'timestamp with time zone', nullable: false },
    is_default: { type: 'boolean', nullable: false },
    password_hash: { type: 'text', nullable: true },
    featured_at: { type: 'timestamp with time zone', nullable: true },
    icon_url: { type: 'text', nullable: true },
    member_count: { type: 'integer', nullable: false },
    icon_file_id: { type: 'uuid', nullable: true },
  },
  channels: {
    id: { type: 'uuid', nullable: false },
    server_id: { type: 'uuid', nullable: false },
    name: { type: 'text', nullable: false },
    type: { type: 'text', nullable: false },
    position: { type: 'integer', nullable: false },
    last_seq: { type: 'bigint', nullable: false },
    created_at: { type: 'timestamp with time zone', nullable: false },
  },
  members: {
    server_id: { type: 'uuid', nullable: false },
    user_id: { type: 'uuid', nullable: false },
    nickname: { type: 'text', nullable: true },
    active: { type: 'boolean', nullable: false },
    joined_at: { type: 'timestamp with time zone', nullable: false },
    muted: { type: 'boolean', nullable: false },
    muted_until: { type: 'timestamp with time zone', nullable: true },
  },
  messages: {
    id: { type: 'uuid', nullable: false },
    channel_id: { type: 'uuid', nullable: false },
    seq: { type: 'bigint', nullable: false },
    author_id: { type: 'uuid', nullable: true },
    text: { type: 'text', nullable: false },
    nonce: { type: 'text', nullable: true },
    reply_to_id: { type: 'uuid', nullable: true },
    created_at: { type: 'timestamp with time zone', nullable: false },
    edited_at: { type: 'timestamp with time zone', nullable: true },
    deleted_at: { type: 'timestamp with time zone', nullable: true },
  },
  roles: {
    id: { type: 'uuid', nullable: false },
    server_id: { type: 'uuid', nullable: false },
    name: { type: 'text', nullable: false },
    builtin: { type: 'text', nullable: true },
    rank: { type: 'integer', nullable: false },
    permissions: { type: 'ARRAY', nullable: false },
    created_at: { type: 'timestamp with time zone', nullable: false },
  },
  member_roles: {
    server_id: { type: 'uuid', nullable: false },
    user_id: { type: 'uuid', nullable: false },
    role_id: { type: 'uuid', nullable: false },
  },
  channel_overrides: {
    channel_id: { type: 'uuid', nullable: false },
    role_id: { type: 'uuid', nullable: false },
    allow: { type: 'ARRAY', nullable: false },
    deny: { type: 'ARRAY', nullable: false },
  },
  invites: {
    code: { type: 'text', nullable: false },
    server_id: { type: 'uuid', nullable: false },
    created_by: { type: 'uuid', nullable: true },
    max_uses: { type: 'integer', nullable: true },
    uses: { type: 'integer', nullable: false },
    expires_at: { type: 'timestamp with time zone', nullable: true },
    revoked_at: { type: 'timestamp with time zone', nullable: true },
    note: { type: 'text', nullable: true },
    created_at: { type: 'timestamp with time zone', nullable: false },
  },
  bans: {
    server_id: { type: 'uuid', nullable: false },
    user_id: { type: 'uuid', nullable: false },
    reason: { type: 'text', nullable: true },
    banned_by: { type: 'uuid', nullable: true },
    created_at: { type: 'timestamp with time zone', nullable: false },
    expires_at: { type: 'timestamp with time zone', nullable: true },
  },
  join_requests: {
    id: { type: 'uuid', nullable: false },
    server_id: { type: 'uuid', nullable: false },
    user_id: { type: 'uuid', nullable: false },
    message: { type: 'text', nullable: true },
    status: { type: 'text', nullable: false },
    decided_by: { type: 'uuid', nullable: true },
    decided_at: { type: 'timestamp with time zone', nullable: true },
    created_at: { type: 'timestamp with time zone', nullable: false },
  },
  audit_log: {
    id: { type: 'bigint', nullable: false },
    server_id: { type: 'uuid', nullable: true },
    actor_id: { type: 'uuid', nullable: true },
    action: { type: 'text', nullable: false },
    target_user_id: { type: 'uuid', nullable: true },
    target_id: { type: 'text', nullable: true },
    details: { type: 'jsonb', nullable: false },
    created_at: { type: 'timestamp with time zone', nullable: false },
  },
  files: {
    id: { type: 'uuid', nullable: false },
    owner_id: { type: 'uuid', nullable: false },
    created_at: { type: 'timestamp with time zone', nullable: false },
    name: { type: 'text', nullable: false },
    size: { type: 'bigint', nullable: false },
    content_type: { type: 'text', nullable: false },
    purpose: { type: 'text', nullable: false },
    status: { type: 'text', nullable: false },
    declared_size: { type: 'bigint', nullable: true },
    failure_reason: { type: 'text', nullable: true },
    width: { type: 'integer', nullable: true },
    height: { type: 'integer', nullable: true },
    placeholder: { type: 'text', nullable: true },
    thumbnails: { type: 'boolean', nullable: false },
  },
  message_attachments: {
    message_id: { type: 'uuid', nullable: false },
    file_id: { type: 'uuid', nullable: false },
    position: { type: 'smallint', nullable: false },
  },
  message_reactions: {
    message_id: { type: 'uuid', nullable: false },
    user_id: { type: 'uuid', nullable: false },
    emoji: { type: 'text', nullable: false },
    created_at: { type: 'timestamp with time zone', nullable: false },
  },
  server_activity: {
    server_id: { type: 'uuid', nullable: false },
    hour: { type: 'timestamp with time zone', nullable: false },
    joins: { type: 'integer', nullable: false },
    messages: { type: 'integer', nullable: false },
  },
  signing_keys: {
    kid: { type: 'text', nullable: false },
    slot: { type: 'bigint', nullable: false },
    algorithm: { type: 'text', nullable: false },
    public_jwk: { type: 'jsonb', nullable: false },
    private_jwk: { type: 'jsonb', nullable: false },
    created_at: { type: 'timestamp with time zone', nullable: false },
    not_before: { type: 'timestamp with time zone', nullable: false },
    retires_at: { type: 'timestamp with time zone', nullable: false },
  },
  user_blocks: {
    blocker_id: { type: 'uuid', nullable: false },
    blocked_id: { type: 'uuid', nullable: false },
    created_at: { type: 'timestamp with time zone', nullable: false },
  },
};

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb.drop());

it('matches the migrated schema column for column', async () => {
  const database = await testDb.open();
  const { rows } = await sql<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>`
    select table_name, column_name, data_type, is_nullable from information_schema.columns
    where table_schema = 'public' and table_name not like 'kysely_%'`.execute(database.db);
  const actual: Record<string, Record<string, Column>> = {};
  for (const row of rows) {
    actual[row.table_name] ??= {};
    actual[row.table_name]![row.column_name] = { type: row.data_type, nullable: row.is_nullable === 'YES' };
  }
  expect(actual).toEqual(expected);
});
