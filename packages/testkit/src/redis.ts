import { Redis } from 'ioredis';
import { dockerAvailable } from './docker.ts';
import { freePort } from './free-port.ts';
import { which } from './local-binaries.ts';
import { ManagedProcess } from './managed-process.ts';

export interface RedisService {
  readonly url: string;
  readonly source: 'environment' | 'container' | 'local';
  /** The server process, when it is a private local one. */
  readonly process?: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Redis for tests: `REDIS_URL` when set; else a container when a Docker engine
 * answers; else a private `redis-server` from PATH. Tests share one server and
 * keep apart by key prefix (pub/sub channels are not scoped by database number).
 */
export async function getRedis(env: NodeJS.ProcessEnv = process.env): Promise<RedisService> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: 'environment', stop: async () => {} };
  if (await dockerAvailable()) {
    const { startRedisContainer } = await import('./containers.ts');
    return startRedisContainer();
  }
  return startLocalRedis();
}

export async function startLocalRedis(options: { port?: number; onLine?: (line: string) => void } = {}): Promise<RedisService> {
  const binary = which('redis-server');
  if (!binary) throw new Error('redis-server is not on PATH. Install the redis-server package or set REDIS_URL.');
  const port = options.port ?? (await freePort());
  const server = await ManagedProcess.start(`redis:${port}`, {
    command: binary,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    readyLine: /Ready to accept connections/,
    onLine: options.onLine,
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    source: 'local',
    process: server,
    stop: async () => void (await server.stop('SIGTERM')),
  };
}

/** Deletes every key under `prefix`. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
