import { Redis } from 'ioredis';
import type { Logger } from '../../logger.ts';
import { throttledWarning } from '../../logger.ts';

/** The queue every job goes to (one queue: job names tell the handlers apart). */
export const JOBS_QUEUE = 'media';

/**
 * BullMQ's key prefix for a cluster: `<REDIS_KEY_PREFIX>{jobs}`, so clusters
 * sharing a Redis keep apart, and the `{jobs}` hash tag keeps every key of
 * the queue in one Redis Cluster slot (BullMQ's scripts touch many at once).
 */
export function bullmqPrefix(keyPrefix: string): string {
  return `${keyPrefix}{jobs}`;
}

/**
 * A Redis connection of BullMQ's own (it needs connections without
 * ioredis's key prefix, and a worker's must wait for Redis however long it
 * takes). Reconnects forever with capped backoff; failures are logged once
 * per 10 s while they last.
 */
export function connectBullMq(
  options: {
    url: string;
    connectionName: string;
    /**
     * A producer's commands fail after this long (a request must not hang on
     * Redis); undefined: commands wait for Redis, as a worker's must
     * (BullMQ requires `maxRetriesPerRequest: null` there).
     */
    commandTimeoutMs: number | undefined;
  },
  logger: Logger,
): Redis {
  const connection = new Redis(options.url, {
    connectionName: options.connectionName,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    ...(options.commandTimeoutMs === undefined
      ? { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 2, commandTimeout: options.commandTimeoutMs }),
  });
  const warn = throttledWarning(logger, 'job queue redis connection failed; retrying');
  connection.on('error', (error) => warn({ err: error, connection: options.connectionName }));
  return connection;
}

/** Closes a connection politely, or after `timeoutMs` at once (Redis away or frozen would hold a QUIT forever). */
export async function closeConnection(connection: Redis, timeoutMs = 1000): Promise<void> {
  if (connection.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([connection.quit().then(() => {}, () => {}), timedOut]);
  clearTimeout(timer);
  connection.disconnect();
}
