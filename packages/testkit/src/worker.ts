import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ManagedProcess } from './managed-process.ts';
import { waitUntilReady } from './readiness.ts';

const workerMain = path.resolve(import.meta.dirname, '../../../services/worker/src/main.ts');
const repoRoot = path.resolve(import.meta.dirname, '../../..');

export interface WorkerOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Redis key prefix: the cluster's whose jobs it runs (`Cluster.redisKeyPrefix`). Default: unique per worker. */
  redisKeyPrefix?: string;
  /** Default `worker-<random>`. */
  nodeId?: string;
  /** The worker's HTTP port. Default: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Extra environment (`DATA_DIR`, `S3_*`, `WORKER_CONCURRENCY`...). */
  env?: Record<string, string>;
  /** Receives the worker's log lines (JSON). */
  onLine?: (line: string) => void;
  /** How long it may take to become ready. Default 30 s. */
  startTimeoutMs?: number;
}

/** A real `services/worker` process: `npm run worker` with a test's database and Redis. */
export class WorkerProcess {
  readonly nodeId: string;
  readonly redisKeyPrefix: string;
  port: number;
  process: ManagedProcess | undefined;
  readonly #options: WorkerOptions;
  readonly #host: string;

  private constructor(options: WorkerOptions) {
    this.#options = options;
    this.#host = options.host ?? '127.0.0.1';
    this.nodeId = options.nodeId ?? `worker-${randomBytes(3).toString('hex')}`;
    this.redisKeyPrefix = options.redisKeyPrefix ?? `parley-test-${randomBytes(4).toString('hex')}:`;
    this.port = options.port ?? 0;
  }

  /** Starts the worker and waits until it logs "worker ready" and its `/ready` answers 200. */
  static async start(options: WorkerOptions): Promise<WorkerProcess> {
    const worker = new WorkerProcess(options);
    await worker.#launch();
    return worker;
  }

  /** Its HTTP port: `/health`, `/ready`, `/metrics`. */
  get url(): string {
    return `http://${this.#host}:${this.port}`;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** The worker's most recent log lines, parsed. */
  logs(): Array<Record<string, unknown>> {
    return (this.process?.recentLines ?? []).flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Sends `signal` (default SIGKILL: no shutdown at all) and waits for the exit; resolves with the exit code (null: killed by a signal). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    return (await this.process?.stop(signal)) ?? null;
  }

  /** Starts a stopped worker again on the same port and waits until it is ready. */
  async restart(): Promise<void> {
    if (this.running) await this.kill('SIGTERM');
    await this.#launch();
  }

  /** SIGTERM (SIGKILL after 10 s); resolves with the exit code. */
  async stop(): Promise<number | null> {
    return (await this.process?.stop('SIGTERM')) ?? null;
  }

  async #launch(): Promise<void> {
    const options = this.#options;
    const startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.process = await ManagedProcess.start(this.nodeId, {
      command: process.execPath,
      args: [workerMain],
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        HOST: this.#host,
        WORKER_PORT: String(this.port),
        NODE_ID: this.nodeId,
        DATABASE_URL: options.databaseUrl,
        REDIS_URL: options.redisUrl,
        REDIS_KEY_PREFIX: this.redisKeyPrefix,
        ...options.env,
      },
      readyLine: /"msg":"worker ready"/,
      readyTimeoutMs: startTimeoutMs,
      onLine: options.onLine,
    });
    const ready = this.logs().find((entry) => entry.msg === 'worker ready');
    this.port = Number(ready?.port);
    await waitUntilReady(this.url, {
      timeoutMs: startTimeoutMs,
      abandonWhen: () => !this.running,
      describeFailure: () => this.process?.recentLines.join('\n') ?? '',
    });
  }
}

/** Starts a real worker process against a test's Postgres and Redis. */
export function startWorker(options: WorkerOptions): Promise<WorkerProcess> {
  return WorkerProcess.start(options);
}
