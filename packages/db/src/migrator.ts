import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { FileMigrationProvider, Migrator, type MigrationResult } from 'kysely/migration';

const migrationFolder = path.join(import.meta.dirname, '..', 'migrations');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run before the schema exists
type AnyDb = Kysely<any>;

function createMigrator(db: AnyDb): Migrator {
  return new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) });
}

export class MigrationFailedError extends Error {
  readonly results: readonly MigrationResult[];

  constructor(cause: unknown, results: readonly MigrationResult[] = []) {
    const failed = results.find((result) => result.status === 'Error');
    super(`Migration ${failed?.migrationName ?? '(setup)'} failed: ${String((cause as Error)?.message ?? cause)}`, {
      cause,
    });
    this.name = 'MigrationFailedError';
    this.results = results;
  }
}

async function run(action: Promise<{ error?: unknown; results?: MigrationResult[] }>): Promise<string[]> {
  const { error, results = [] } = await action;
  if (error) throw new MigrationFailedError(error, results);
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

/** Applies every pending migration, under Kysely's migration lock. Returns the names applied. */
export function migrateToLatest(db: AnyDb): Promise<string[]> {
  return run(createMigrator(db).migrateToLatest());
}

/** Reverts the newest applied migration. Returns the names reverted. */
export function migrateDown(db: AnyDb): Promise<string[]> {
  return run(createMigrator(db).migrateDown());
}

/** Names of migrations this code knows that the database has not applied, oldest first. */
export async function pendingMigrations(db: AnyDb): Promise<string[]> {
  const migrations = await createMigrator(db).getMigrations();
  return migrations.filter((migration) => !migration.executedAt).map((migration) => migration.name);
}
