import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { migrateToLatest, openDatabase } from '@parley/db';
import pg from 'pg';
import { dockerAvailable } from './docker.ts';
import { freePort } from './free-port.ts';
import { findPostgresBinDir, postgresProcessUser } from './local-binaries.ts';
import { ManagedProcess } from './managed-process.ts';

const execFileAsync = promisify(execFile);

/** A Postgres server the tests may use: `url` connects as a superuser to its `postgres` database. */
export interface PostgresService {
  readonly url: string;
  /** How it was found: from `DATABASE_URL`, a container, or a private local process. */
  readonly source: 'environment' | 'container' | 'local';
  /** The server process, when it is a private local one (fault tests kill or stop it). */
  readonly process?: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Postgres for tests: `DATABASE_URL` when set; else a container when a Docker
 * engine answers; else a private `postgres` spawned from local binaries.
 */
export async function getPostgres(env: NodeJS.ProcessEnv = process.env, options: { durable?: boolean } = {}): Promise<PostgresService> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, source: 'environment', stop: async () => {} };
  if (await dockerAvailable()) {
    const { startPostgresContainer } = await import('./containers.ts');
    return startPostgresContainer(options);
  }
  return startLocalPostgres(options);
}

export interface LocalPostgresOptions {
  /** Default: a free port. */
  port?: number;
  /** Default: a new temporary directory, removed on stop. */
  dataDir?: string;
  onLine?: (line: string) => void;
  /**
   * Production durability: fsync, synchronous_commit and full_page_writes on,
   * so a commit waits for its WAL flush (benchmarks). Default: all three off (tests).
   */
  durable?: boolean;
}

/** Settings that make a test server fast by giving up crash safety: a commit does not wait for the disk. */
export const NON_DURABLE_SETTINGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'] as const;

/** initdb into a temporary directory and run `postgres` on 127.0.0.1, tuned for tests (no fsync) unless `durable`. */
export function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  return LocalPostgres.start(options);
}

/**
 * A private Postgres server from local binaries. Besides `stop()` (for good),
 * fault tests can `halt()` it and `start()` it again on the same data
 * directory and port, or `pause()` and `resume()` it.
 */
export class LocalPostgres implements PostgresService {
  readonly url: string;
  readonly source = 'local' as const;
  readonly port: number;
  readonly dataDir: string;
  readonly #ownDir: boolean;
  readonly #onLine: ((line: string) => void) | undefined;
  readonly #durable: boolean;
  #server: ManagedProcess | undefined;

  private constructor(port: number, dataDir: string, ownDir: boolean, onLine: ((line: string) => void) | undefined, durable: boolean) {
    this.port = port;
    this.#durable = durable;
    this.dataDir = dataDir;
    this.#ownDir = ownDir;
    this.#onLine = onLine;
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  static async start(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
    const user = postgresProcessUser();
    const ownDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'parley-pg-'));
    if (user) chownSync(dataDir, user.uid, user.gid);
    const port = options.port ?? (await freePort());
    const postgres = new LocalPostgres(port, dataDir, ownDir, options.onLine, options.durable ?? false);
    try {
      await execFileAsync(
        path.join(findPostgresBinDir(), 'initdb'),
        ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync', '--no-instructions'],
        { env: postgresEnv(), ...user },
      );
    } catch (error) {
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      const { stderr } = error as { stderr?: string };
      throw new Error(`initdb failed: ${stderr ?? String(error)}`, { cause: error });
    }
    try {
      await postgres.start();
    } catch (error) {
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
    return postgres;
  }

  /** The postmaster while it runs; a new process after each `start()`. */
  get process(): ManagedProcess | undefined {
    return this.#server;
  }

  get running(): boolean {
    return this.#server?.running ?? false;
  }

  /** Starts the server (again) on its data directory and port; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`postgres:${this.port} is already running`);
    this.#server = await ManagedProcess.start(`postgres:${this.port}`, {
      command: path.join(findPostgresBinDir(), 'postgres'),
      args: [
        '-D', this.dataDir,
        '-p', String(this.port),
        '-h', '127.0.0.1',
        '-k', this.dataDir,
        ...(this.#durable ? [] : NON_DURABLE_SETTINGS.flatMap((setting) => ['-c', setting])),
        '-c', 'max_connections=300',
      ],
      env: postgresEnv(),
      ...postgresProcessUser(),
      readyLine: /database system is ready to accept connections/,
      onLine: this.#onLine,
    });
  }

  /**
   * Stops the server and keeps its data: `fast` (SIGINT) rolls back open
   * transactions and disconnects clients, as a restart does; `immediate`
   * (SIGQUIT) exits at once and recovers from the WAL at the next start.
   */
  async halt(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.#server?.stop(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
  }

  /** `halt()` then `start()`: the same data, port and URL. */
  async restart(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.halt(mode);
    await this.start();
  }

  /** Freezes the postmaster and every backend (SIGSTOP): connections stay open and no query answers. */
  async pause(): Promise<void> {
    await this.#server?.pause();
  }

  /** Thaws what `pause()` froze. */
  resume(): void {
    this.#server?.resume();
  }

  /** Stops the server for good; removes the data directory when it made it. */
  async stop(): Promise<void> {
    await this.halt('fast');
    if (this.#ownDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function postgresEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates a database (a copy of `template` when given) with a unique name; returns its URL. */
export async function createDatabase(adminUrl: string, options: { prefix?: string; template?: string } = {}): Promise<{ name: string; url: string }> {
  const name = `${options.prefix ?? 'parley_test'}_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, (client) =>
    client.query(`create database "${name}"${options.template ? ` template "${options.template}"` : ''}`),
  );
  return { name, url: withDatabase(adminUrl, name) };
}

/** A new database migrated to the latest schema; dropped again if migrating fails. */
export async function createMigratedDatabase(adminUrl: string, options: { prefix?: string } = {}): Promise<{ name: string; url: string }> {
  const created = await createDatabase(adminUrl, options);
  try {
    const database = await openDatabase({ kind: 'postgres', url: created.url });
    try {
      await migrateToLatest(database.db);
    } finally {
      await database.close();
    }
  } catch (error) {
    await dropDatabase(adminUrl, created.name).catch(() => {});
    throw error;
  }
  return created;
}

/** Drops a database, disconnecting whoever is still connected. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await admin(adminUrl, (client) => client.query(`drop database if exists "${name}" with (force)`));
}
