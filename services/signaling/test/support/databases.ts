import { migrateToLatest, openDatabase, type Database } from '@parley/db';
import { createTestDatabase } from '@parley/testkit/vitest';

export interface DatabaseUnderTest {
  database: Database;
  close(): Promise<void>;
}

/**
 * The database port's two implementations, for contract tests: Postgres (a
 * copy of the migrated template) and PGlite (in memory, migrated here).
 */
export const databaseKinds: Array<[kind: string, open: () => Promise<DatabaseUnderTest>]> = [
  [
    'postgres',
    async () => {
      const testDb = await createTestDatabase();
      return { database: await testDb.open(), close: () => testDb.drop() };
    },
  ],
  [
    'pglite',
    async () => {
      const database = await openDatabase({ kind: 'pglite' });
      await migrateToLatest(database.db);
      return { database, close: () => database.close() };
    },
  ],
];
