import { migrateToLatest, openDatabase, pendingMigrations, type Database } from '@parley/db';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';

export class SchemaBehindError extends Error {
  constructor(pending: string[]) {
    super(
      `The database schema is behind this code: ${pending.length} migration(s) pending (${pending.join(', ')}). ` +
        'Refusing to serve. Run `npm run migrate` (or the migrate job) against DATABASE_URL, then start the pod again.',
    );
    this.name = 'SchemaBehindError';
  }
}

/**
 * Opens the database. PGlite belongs to this process alone, so it migrates
 * itself; a shared Postgres is migrated once by `npm run migrate`, never by
 * every pod, and a pod whose schema is behind refuses to start.
 */
export async function connectDatabase(config: Config, logger: Logger): Promise<Database> {
  const log = logger.child({ module: 'database' });
  const options = config.database;
  const database = await openDatabase(
    options.kind === 'postgres'
      ? {
          kind: 'postgres',
          url: options.url,
          poolMax: options.poolMax,
          connectTimeoutMs: options.connectTimeoutMs,
          queryTimeoutMs: options.queryTimeoutMs,
          applicationName: `parley:${config.nodeId}`,
        }
      : { kind: 'pglite', dataDir: options.dataDir },
    (error) => log.warn({ err: error }, 'idle database connection failed'),
  );
  try {
    if (database.kind === 'pglite') {
      const applied = await migrateToLatest(database.db);
      log.info({ dataDir: options.kind === 'pglite' ? options.dataDir : undefined, applied }, 'embedded database ready');
    } else {
      const pending = await pendingMigrations(database.db);
      if (pending.length > 0) throw new SchemaBehindError(pending);
    }
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}
