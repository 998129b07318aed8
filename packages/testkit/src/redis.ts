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

export function startLocalRedis(options: { port?: number; onLine?: (line: string) => void } = {}): Promise<LocalRedis> {
  return LocalRedis.start(options);
}

/**
 * A private `redis-server` (no persistence). Besides `stop()`, fault tests
 * can `kill()` it and `start()` it again, empty, on the same port, or
 * `pause()` and `resume()` it.
 */
export class LocalRedis implements RedisService {
  readonly url: string;
  readonly source = 'local' as const;
  readonly port: number;
  readonly #binary: string;
  readonly #onLine: ((line: string) => void) | undefined;
  #server: ManagedProcess | undefined;

  private constructor(binary: string, port: number, onLine: ((line: string) => void) | undefined) {
    this.#binary = binary;
    this.port = port;
    this.#onLine = onLine;
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(options: { port?: number; onLine?: (line: string) => void } = {}): Promise<LocalRedis> {
    const binary = which('redis-server');
    if (!binary) throw new Error('redis-server is not on PATH. Install the redis-server package or set REDIS_URL.');
    const redis = new LocalRedis(binary, options.port ?? (await freePort()), options.onLine);
    await redis.start();
    return redis;
  }

  /** The server while it runs; a new process after each `start()`. */
  get process(): ManagedProcess | undefined {
    return this.#server;
  }

  get running(): boolean {
    return this.#server?.running ?? false;
  }

  /** Starts the server (again, empty) on its port; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`redis:${this.port} is already running`);
    this.#server = await ManagedProcess.start(`redis:${this.port}`, {
      command: this.#binary,
      args: ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      readyLine: /Ready to accept connections/,
      onLine: this.#onLine,
    });
  }

  /** Kills the server (default SIGKILL: no goodbye to its clients) and waits for its exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.#server?.stop(signal);
  }

  /** Freezes the server (SIGSTOP): connections stay open and no command answers. */
  async pause(): Promise<void> {
    await this.#server?.pause();
  }

  /** Thaws what `pause()` froze. */
  resume(): void {
    this.#server?.resume();
  }

  async stop(): Promise<void> {
    await this.#server?.stop('SIGTERM');
  }
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
