import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createMigratedDatabase, deleteRedisKeys, dropDatabase, getPostgres, getRedis } from '@parley/testkit';

/** A private, migrated Postgres database and a private Redis key prefix for one scenario's pods. */
export interface BackingServices {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly redisKeyPrefix: string;
  /** Where Postgres and Redis came from: the environment, containers, or local binaries. */
  readonly sources: { postgres: string; redis: string };
  /** Drops the database, deletes the keys, stops servers the bench started; tries every step. */
  dispose(): Promise<void>;
}

/**
 * Postgres and Redis from testkit (`DATABASE_URL`/`REDIS_URL`, else containers,
 * else local binaries). A Postgres the bench starts runs with production
 * durability (fsync, synchronous_commit, full_page_writes on), as an
 * acknowledgement promises a durable commit; `sources.postgres` says which
 * settings the server really has.
 */
export async function startBackingServices(): Promise<BackingServices> {
  const [postgresStart, redisStart] = await Promise.allSettled([getPostgres(process.env, { durable: true }), getRedis()]);
  const postgres = postgresStart.status === 'fulfilled' ? postgresStart.value : undefined;
  const redis = redisStart.status === 'fulfilled' ? redisStart.value : undefined;
  const redisKeyPrefix = `parley-bench-${randomBytes(4).toString('hex')}:`;
  let databaseName: string | undefined;

  const dispose = async () => {
    const failures = (
      await Promise.allSettled([
        postgres && databaseName ? dropDatabase(postgres.url, databaseName) : undefined,
        redis ? deleteRedisKeys(redis.url, redisKeyPrefix) : undefined,
      ])
    ).concat(await Promise.allSettled([postgres?.stop(), redis?.stop()]));
    const reasons = failures.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    if (reasons.length > 0) throw new AggregateError(reasons, 'cleaning up the benchmark services failed');
  };

  try {
    if (!postgres || !redis) {
      const reason = postgresStart.status === 'rejected' ? postgresStart.reason : (redisStart as PromiseRejectedResult).reason;
      throw reason;
    }
    const database = await createMigratedDatabase(postgres.url, { prefix: 'parley_bench' });
    databaseName = database.name;
    return {
      databaseUrl: database.url,
      redisUrl: redis.url,
      redisKeyPrefix,
      sources: { postgres: `${postgres.source}, ${await durabilityOf(database.url)}`, redis: redis.source },
      dispose,
    };
  } catch (error) {
    await dispose().catch(() => {});
    throw error;
  }
}

/** The server's crash-safety settings, e.g. `durable (fsync on, synchronous_commit on, full_page_writes on)`. */
async function durabilityOf(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ fsync: string; synchronous_commit: string; full_page_writes: string }>(
      "select current_setting('fsync') as fsync, current_setting('synchronous_commit') as synchronous_commit, current_setting('full_page_writes') as full_page_writes",
    );
    const settings = rows[0]!;
    const durable = settings.fsync === 'on' && settings.synchronous_commit !== 'off' && settings.full_page_writes === 'on';
    const listed = Object.entries(settings).map(([name, value]) => `${name} ${value}`).join(', ');
    return `${durable ? 'durable' : 'NOT durable: commits do not wait for the disk'} (${listed})`;
  } finally {
    await client.end();
  }
}
