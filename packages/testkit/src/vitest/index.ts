import { randomBytes } from 'node:crypto';
import { openDatabase, type Database } from '@parley/db';
import { inject } from 'vitest';
import { createDatabase, dropDatabase } from '../postgres.ts';
import { deleteRedisKeys } from '../redis.ts';
import type {} from './provided-context.ts';

/** Helpers for test files; they read what the global setup provided. */

export function postgresUrl(): string {
  return inject('postgresUrl');
}

export function redisUrl(): string {
  return inject('redisUrl');
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Opens a Kysely handle on it; closed by `drop`. */
  open(): Promise<Database>;
  /** Closes handles opened here and drops the database. */
  drop(): Promise<void>;
}

/**
 * A database of this test file's own: a copy of the migrated template, or an
 * empty one with `{ migrated: false }` (for migration tests).
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = postgresUrl();
  const { name, url } = await createDatabase(adminUrl, {
    template: options.migrated === false ? 'template0' : inject('templateDatabase'),
  });
  const opened: Database[] = [];
  return {
    name,
    url,
    open: async () => {
      const database = await openDatabase({ kind: 'postgres', url, poolMax: 20 });
      opened.push(database);
      return database;
    },
    drop: async () => {
      await Promise.all(opened.map((database) => database.close()));
      await dropDatabase(adminUrl, name);
    },
  };
}

/** A Redis key prefix of this test's own; `cleanup` deletes its keys. */
export function createRedisNamespace(): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `parley-test-${randomBytes(4).toString('hex')}:`;
  return { prefix, cleanup: () => deleteRedisKeys(redisUrl(), prefix) };
}
