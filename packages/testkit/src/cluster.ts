import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ManagedProcess } from './managed-process.ts';
import { waitUntilReady } from './readiness.ts';

const signalingMain = path.resolve(import.meta.dirname, '../../../services/signaling/src/main.ts');
const repoRoot = path.resolve(import.meta.dirname, '../../..');

export interface ClusterOptions {
  pods: number;
  databaseUrl: string;
  redisUrl: string;
  /** Redis key and channel prefix; clusters sharing one Redis stay apart. Default: unique per cluster. */
  redisKeyPrefix?: string;
  /** Port of the first pod; the others take the next ones. Default: any free port per pod. */
  basePort?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Extra environment for every pod. */
  env?: Record<string, string>;
  /** Receives each pod's log lines (JSON). */
  onLine?: (pod: number, line: string) => void;
  /** How long a pod may take to become ready. Default 30 s. */
  startTimeoutMs?: number;
  /** Node (and V8) flags for every pod, before the script, e.g. `['--optimize-for-size']`. Default none, as the image runs it. */
  nodeFlags?: readonly string[];
}

/** One signaling process of a cluster. */
export class Pod {
  readonly index: number;
  readonly nodeId: string;
  port: number;
  process: ManagedProcess | undefined;
  readonly #host: string;

  constructor(index: number, nodeId: string, host: string, port: number) {
    this.index = index;
    this.nodeId = nodeId;
    this.#host = host;
    this.port = port;
  }

  get url(): string {
    return `http://${this.#host}:${this.port}`;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** The pod's most recent log lines, parsed. */
  logs(): Array<Record<string, unknown>> {
    return (this.process?.recentLines ?? []).flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }
}

/** Real signaling processes sharing one Postgres and one Redis. */
export class Cluster {
  readonly pods: Pod[];
  readonly redisKeyPrefix: string;
  readonly #options: ClusterOptions;

  private constructor(options: ClusterOptions, pods: Pod[], redisKeyPrefix: string) {
    this.#options = options;
    this.pods = pods;
    this.redisKeyPrefix = redisKeyPrefix;
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    const host = options.host ?? '127.0.0.1';
    const prefix = options.redisKeyPrefix ?? `parley-test-${randomBytes(4).toString('hex')}:`;
    const pods = Array.from(
      { length: options.pods },
      (_, index) => new Pod(index, `pod-${index + 1}`, host, options.basePort ? options.basePort + index : 0),
    );
    const cluster = new Cluster(options, pods, prefix);
    try {
      await Promise.all(pods.map((pod) => cluster.#launch(pod)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  pod(index: number): Pod {
    const pod = this.pods[index];
    if (!pod) throw new Error(`No pod ${index} (the cluster has ${this.pods.length})`);
    return pod;
  }

  url(index: number): string {
    return this.pod(index).url;
  }

  /** Sends `signal` (default SIGKILL) to a pod and waits until it has exited. */
  async kill(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pod = this.pod(index);
    await pod.process?.stop(signal);
  }

  /** Starts a stopped pod again on the same port and waits until it is ready. */
  async restart(index: number): Promise<void> {
    const pod = this.pod(index);
    if (pod.running) await this.kill(index, 'SIGTERM');
    await this.#launch(pod);
  }

  /** Stops every pod (SIGTERM, then SIGKILL after 10 s). */
  async stop(): Promise<void> {
    await Promise.all(this.pods.map((pod) => pod.process?.stop('SIGTERM')));
  }

  async #launch(pod: Pod): Promise<void> {
    const options = this.#options;
    pod.process = await ManagedProcess.start(pod.nodeId, {
      command: process.execPath,
      args: [...(options.nodeFlags ?? []), signalingMain],
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        HOST: options.host ?? '127.0.0.1',
        PORT: String(pod.port),
        NODE_ID: pod.nodeId,
        DATABASE_URL: options.databaseUrl,
        REDIS_URL: options.redisUrl,
        REDIS_KEY_PREFIX: this.redisKeyPrefix,
        ...options.env,
      },
      readyLine: /"msg":"listening"/,
      readyTimeoutMs: options.startTimeoutMs ?? 30_000,
      onLine: options.onLine && ((line) => options.onLine?.(pod.index, line)),
    });
    const listening = pod.logs().find((entry) => entry.msg === 'listening');
    pod.port = Number(listening?.port);
    await waitUntilReady(pod.url, {
      timeoutMs: options.startTimeoutMs ?? 30_000,
      abandonWhen: () => !pod.running,
      describeFailure: () => pod.process?.recentLines.join('\n') ?? '',
    });
  }
}

/** Starts `pods` real signaling processes against shared Postgres and Redis. */
export function startCluster(options: ClusterOptions): Promise<Cluster> {
  return Cluster.start(options);
}
