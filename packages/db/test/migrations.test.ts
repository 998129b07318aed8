import { createTestDatabase, type TestDatabase } from '@parley/testkit/vitest';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrateDown, migrateToLatest, pendingMigrations, type Database } from '../src/index.ts';

const TABLES = [
  'audit_log',
  'bans',
  'channel_overrides',
  'channels',
  'device_tokens',
  'files',
  'invites',
  'join_requests',
  'member_roles',
  'members',
  'message_attachments',
  'message_reactions',
  'messages',
  'oidc_identities',
  'roles',
  'server_activity',
  'servers',
  'sessions',
  'signing_keys',
  'user_blocks',
  'users',
];

async function tables(database: Database): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_name not like 'kysely_%'
    order by table_name`.execute(database.db);
  return rows.map((row) => row.table_name);
}

let testDb: TestDatabase;
let database: Database;

beforeAll(async () => {
  testDb = await createTestDatabase({ migrated: false });
  database = await testDb.open();
});
afterAll(() => testDb.drop());

it('migrates an empty Postgres up, all the way down, and up again', async () => {
  const known = await pendingMigrations(database.db);
  expect(known.length).toBeGreaterThan(0);

  expect(await migrateToLatest(database.db)).toEqual(known);
  expect(await pendingMigrations(database.db)).toEqual([]);
  expect(await tables(database)).toEqual(TABLES);

  for (const _ of known) await migrateDown(database.db);
  expect(await tables(database)).toEqual([]);
  expect(await pendingMigrations(database.db)).toEqual(known);

  await migrateToLatest(database.db);
  expect(await tables(database)).toEqual(TABLES);
});
