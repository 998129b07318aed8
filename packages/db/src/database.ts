import { mkdir } from 'node:fs/promises';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
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
      /** Give up connecting (or waiting for a pooled connection) after this long, so requests fail fast when Postgres is away. Default 5000. */
      connectTimeoutMs?: number;
      /**
       * Cap on any one statement: Postgres cancels it after this long, and the
       * client gives up on it shortly after, should Postgres not answer at all
       * (frozen, partitioned). Default 10000; 0 for no limit (migrations).
       */
      queryTimeoutMs?: number;
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
  /** Resolves when a new connection to the database can be opened (a pool may still hold working ones when it cannot). */
  canConnect(): Promise<void>;
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
        canConnect: async () => {},
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

  const queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
  const connection = {
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: queryTimeoutMs,
    // Past the server's own cancellation: only a Postgres that does not answer at all gets here.
    query_timeout: queryTimeoutMs === 0 ? undefined : queryTimeoutMs + CLIENT_TIMEOUT_GRACE_MS,
    application_name: options.applicationName ?? 'parley',
  };
  const pool = new pg.Pool({
    ...connection,
    max: options.poolMax ?? 10,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  pool.on('error', onPoolError);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: discardingConnectionsInDoubt(pool) }) });
  return {
    kind: 'postgres',
    db,
    ping: () => ping(db),
    canConnect: async () => {
      const client = new pg.Client(connection);
      client.on('error', () => {});
      try {
        await client.connect();
      } finally {
        await client.end().catch(() => {});
      }
    },
    close: () => db.destroy(),
  };
}

/** How long after Postgres's own statement timeout the client stops waiting. */
const CLIENT_TIMEOUT_GRACE_MS = 1000;

/**
 * The pool as Kysely sees it, but a connection whose query failed because
 * the connection itself is in doubt (no answer in time, or the connection
 * broke, also between queries) is destroyed when released. Handed to the next request, it could
 * still be inside the abandoned transaction, whose statements that request's
 * COMMIT would then commit.
 */
function discardingConnectionsInDoubt(pool: pg.Pool): PostgresPool {
  return {
    Client: pg.Client,
    options: pool.options,
    end: () => pool.end(),
    connect: async (): Promise<PostgresPoolClient> => {
      const client = await pool.connect();
      let inDoubt = false;
      // The pool listens for errors of idle connections only: one that breaks
      // while checked out (its backend terminated between two queries of a
      // transaction) would otherwise throw out of the process.
      const onError = () => {
        inDoubt = true;
      };
      client.on('error', onError);
      const query = (...args: unknown[]) => {
        const result = (client.query as (...args: unknown[]) => unknown)(...args);
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          inDoubt ||= isConnectionInDoubt(error);
          throw error;
        });
      };
      return {
        query: query as PostgresPoolClient['query'],
        release: (destroy?: boolean) => {
          client.off('error', onError);
          client.release(destroy || inDoubt);
        },
      };
    },
  };
}

/** The connection, not the statement, failed: it may be mid-transaction or dead. */
function isConnectionInDoubt(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(08|57P)/.test(code)) return true;
  return /Query read timeout|Connection terminated|ECONNRESET|EPIPE/i.test(`${error.message} ${String(code)}`);
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

const TRANSIENT_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /Connection terminated/i,
  /connection timeout/i,
  /Query read timeout/i,
];

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
