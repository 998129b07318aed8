import { openDatabase, type Database } from '@parley/db';
import type { DestinationStream } from 'pino';
import { waitUntilReady } from '@parley/testkit';
import { createRedisNamespace, createTestDatabase, redisUrl } from '@parley/testkit/vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startNode, type RunningNode } from '../../src/node.ts';

export interface TestNode {
  readonly node: RunningNode;
  readonly url: string;
  /** A separate connection to the node's database, for assertions. */
  readonly database: Database;
  /** The environment the node was configured with, for other processes (the admin CLI) to share its database and Redis. */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * A signaling node in this process, in cluster mode against its own copy of
 * the migrated database and its own Redis key prefix. `env` overrides any
 * configuration variable.
 */
export async function startTestNode(
  env: Record<string, string> = {},
  options: { logLevel?: string; logDestination?: DestinationStream } = {},
): Promise<TestNode> {
  const testDb = await createTestDatabase();
  const redis = createRedisNamespace();
  const nodeEnv = {
    HOST: '127.0.0.1',
    PORT: '0',
    NODE_ID: 'test-node',
    DATABASE_URL: testDb.url,
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: redis.prefix,
    // A test file makes many community writes with one token; the limits have their own tests.
    RATE_LIMIT_COMMUNITY_WRITE: '100000/1m',
    RATE_LIMIT_DISCOVERY: '100000/1m',
    ...env,
  };
  const config = loadConfig(nodeEnv);
  const logger = createLogger({
    level: options.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent',
    format: 'json',
    nodeId: config.nodeId,
    destination: options.logDestination,
  });
  const node = await startNode(config, logger);
  await waitUntilReady(node.url, { timeoutMs: 10_000 });
  const database = await openDatabase({ kind: 'postgres', url: testDb.url });
  return {
    node,
    url: node.url,
    database,
    env: nodeEnv,
    stop: async () => {
      await node.shutdown('test finished');
      await database.close();
      await testDb.drop();
      await redis.cleanup();
    },
  };
}

/** Row counts of the tables a request might write to. */
export async function rowCounts(database: Database): Promise<Record<string, number>> {
  const tables = ['users', 'sessions', 'servers', 'channels', 'members', 'messages'] as const;
  const counts = await Promise.all(
    tables.map(async (table) => {
      const row = await database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .executeTakeFirstOrThrow();
      return [table, Number(row.count)] as const;
    }),
  );
  return Object.fromEntries(counts);
}
