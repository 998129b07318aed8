import { mkdir } from 'node:fs/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import type { DB } from './schema.ts';

const INT8_OID = 20;

async function ping(db: Kysely<DB>): Promise<void> {
  await sql`select 1`.execute(db);
}
const parseInt8 = (value: string) => Number(value);

export type DatabaseOptions =
  | {
      kind: 'postgres';
      url: string;
      /** Connections per process. Default 10. */
      poolMax?: number;
      /** Give up connecting after this long, so requests fail fast when Postgres is away. Default 5000. */
      connectTimeoutMs?: number;
      /** Server-side cap on any one statement. Default 15000. */
      statementTimeoutMs?: number;
      applicationName?: string;
    }
  | {
      kind: 'pglite';
      /** Directory holding the database files; in memory when absent. */
      dataDir?: string;
    };

/** An open database: the Kysely handle plus what the process needs to watch and close it. */
export interface Database {
  readonly kind: DatabaseOptions['kind'];
  readonly db: Kysely<DB>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens Postgres through `pg`, or PGlite (Postgres compiled to WASM) in
 * process. Both read `bigint` as a JS number and timestamps as `Date`.
 * `onPoolError` receives errors of idle Postgres connections, which would
 * otherwise crash the process when the server goes away.
 */
export async function openDatabase(
  options: DatabaseOptions,
  onPoolError: (error: Error) => void = () => {},
): Promise<Database> {
  if (options.kind === 'pglite') {
    let unlock = async () => {};
    if (options.dataDir) {
      await mkdir(options.dataDir, { recursive: true });
      unlock = await lockDataDir(options.dataDir);
    }
    try {
      // Loaded only here: a cluster pod never needs PGlite's code in memory.
      const { PGlite } = await import('@electric-sql/pglite');
      const pglite = await PGlite.create(options.dataDir, {
        parsers: { [INT8_OID]: parseInt8 },
        // Postgres's 128 MB default buffer pool lives in WASM memory and roughly
        // doubles the process's RSS; a single-node community does not need it.
        postgresqlconf: ['shared_buffers=16MB'],
      });
      const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
      return {
        kind: 'pglite',
        db,
        ping: () => ping(db),
        close: async () => {
          await db.destroy();
          await pglite.close();
          await unlock();
        },
      };
    } catch (error) {
      await unlock();
      throw error;
    }
  }

  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
    application_name: options.applicationName ?? 'parley',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  pool.on('error', onPoolError);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    kind: 'postgres',
    db,
    ping: () => ping(db),
    close: () => db.destroy(),
  };
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000', // connection_exception
  '08003', // connection_does_not_exist
  '08006', // connection_failure
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '57014', // query_canceled (statement timeout)
]);

const TRANSIENT_MESSAGES = [/timeout exceeded when trying to connect/i, /Connection terminated/i, /connection timeout/i];

/** True when an error means "the database is away or busy, retry later", not "this request is wrong". */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  return TRANSIENT_MESSAGES.some((pattern) => pattern.test(error.message));
}

/** True for a Postgres unique-constraint violation. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === '23505';
}
