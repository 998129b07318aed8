import { randomBytes } from 'node:crypto';
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

/** Postgres and Redis from testkit (`DATABASE_URL`/`REDIS_URL`, else containers, else local binaries). */
export async function startBackingServices(): Promise<BackingServices> {
  const [postgresStart, redisStart] = await Promise.allSettled([getPostgres(), getRedis()]);
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
      sources: { postgres: postgres.source, redis: redis.source },
      dispose,
    };
  } catch (error) {
    await dispose().catch(() => {});
    throw error;
  }
}
