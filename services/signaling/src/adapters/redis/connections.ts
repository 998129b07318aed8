import { Redis } from 'ioredis';
import type { Logger } from '../../logger.ts';

/** The pod's Redis connections: commands, and the publish/subscribe pair of the Socket.IO adapter. */
export interface RedisConnections {
  /** Prefix of every key and channel of this cluster. */
  readonly keyPrefix: string;
  readonly client: Redis;
  readonly pub: Redis;
  readonly sub: Redis;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects to Redis. Connections retry forever with capped backoff: while
 * Redis is away the pod stays up (readiness says so), and fan-out resumes
 * by itself when it returns. Commands and publishes fail after
 * `commandTimeoutMs`, whether Redis refuses connections or hangs (paused,
 * partitioned), so nothing waits on it for long. Subscriptions alone wait
 * for Redis however long it takes: a subscription given up would never be
 * restored, and the pod would miss every other pod's broadcast.
 */
export function connectRedis(
  options: { url: string; keyPrefix: string; nodeId: string; commandTimeoutMs: number },
  logger: Logger,
): RedisConnections {
  const log = logger.child({ module: 'redis' });
  const make = (role: 'client' | 'pub' | 'sub') => {
    const connection = new Redis(options.url, {
      connectionName: `parley:${options.nodeId}:${role}`,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      ...(role === 'sub'
        ? { maxRetriesPerRequest: null }
        : { maxRetriesPerRequest: 2, commandTimeout: options.commandTimeoutMs }),
    });
    let healthy = true;
    connection.on('error', (error) => {
      if (healthy) log.warn({ err: error, role }, 'redis connection failed; retrying');
      healthy = false;
    });
    connection.on('ready', () => {
      if (!healthy) log.info({ role }, 'redis connection restored');
      healthy = true;
    });
    return connection;
  };
  const client = make('client');
  const pub = make('pub');
  const sub = make('sub');
  return {
    keyPrefix: options.keyPrefix,
    client,
    pub,
    sub,
    ping: async () => {
      if (client.status !== 'ready') throw new Error(`redis connection is ${client.status}`);
      await client.ping();
    },
    close: async () => {
      await Promise.all([client, pub, sub].map((connection) => connection.quit().catch(() => connection.disconnect())));
    },
  };
}
