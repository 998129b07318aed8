import { openDatabase, type Database } from '@parley/db';
import {
  createMigratedDatabase,
  startCluster,
  startLocalPostgres,
  startLocalRedis,
  TcpBalancer,
  type Cluster,
  type LocalPostgres,
  type LocalRedis,
} from '@parley/testkit';
import { PodLogBook } from './pod-log-book.ts';

/**
 * Limits high enough that the tests' own traffic (every client comes from
 * 127.0.0.1) is never refused. Variables a pod does not know yet are ignored.
 */
export const GENEROUS_LIMITS: Readonly<Record<string, string>> = {
  RATE_LIMIT_CHAT_SEND: '100000/10s',
  RATE_LIMIT_CHAT_RESUME: '100000/10s',
  RATE_LIMIT_CHAT_FETCH: '100000/10s',
  RATE_LIMIT_AUTH: '100000/1m',
  RATE_LIMIT_COMMUNITY_WRITE: '100000/1m',
  RATE_LIMIT_HANDSHAKE: '100000/10s',
  MAX_UNAUTHENTICATED_PER_IP: '100000',
  MAX_UNAUTHENTICATED_CONNECTIONS: '100000',
  // A SIGTERMed pod must be gone well inside ManagedProcess's 10 s before SIGKILL.
  SHUTDOWN_GRACE_MS: '8000',
};

/**
 * One test file's own world: a private redis-server and postgres (never the
 * shared ones other test files use, since these get paused and killed), a
 * migrated database, three real pods, and a TCP balancer in front of them.
 */
export class FaultEnvironment {
  readonly redis: LocalRedis;
  readonly postgres: LocalPostgres;
  readonly databaseUrl: string;
  readonly cluster: Cluster;
  readonly balancer: TcpBalancer;
  readonly logs: PodLogBook;
  /** The test's own handle on the database (reads the stored stream, adds members). */
  readonly database: Database;

  private constructor(parts: {
    redis: LocalRedis;
    postgres: LocalPostgres;
    databaseUrl: string;
    cluster: Cluster;
    balancer: TcpBalancer;
    logs: PodLogBook;
    database: Database;
  }) {
    this.redis = parts.redis;
    this.postgres = parts.postgres;
    this.databaseUrl = parts.databaseUrl;
    this.cluster = parts.cluster;
    this.balancer = parts.balancer;
    this.logs = parts.logs;
    this.database = parts.database;
  }

  /** `env` is added to every pod's environment, over `GENEROUS_LIMITS`. */
  static async start(options: { env?: Record<string, string>; pods?: number } = {}): Promise<FaultEnvironment> {
    const stops: Array<() => Promise<unknown>> = [];
    try {
      const [redis, postgres] = await Promise.all([startLocalRedis(), startLocalPostgres()]);
      stops.push(() => redis.stop(), () => postgres.stop());
      const { url: databaseUrl } = await createMigratedDatabase(postgres.url, { prefix: 'parley_fault' });
      const logs = new PodLogBook();
      const cluster = await startCluster({
        pods: options.pods ?? 3,
        databaseUrl,
        redisUrl: redis.url,
        env: { ...GENEROUS_LIMITS, ...options.env },
        onLine: (pod, line) => logs.record(pod, line),
        startTimeoutMs: 60_000,
      });
      stops.unshift(() => cluster.stop());
      const balancer = await TcpBalancer.start(() =>
        cluster.pods.filter((pod) => pod.port !== 0).map((pod) => ({ host: '127.0.0.1', port: pod.port })),
      );
      stops.unshift(() => balancer.stop());
      const database = await openDatabase({ kind: 'postgres', url: databaseUrl, poolMax: 4 });
      return new FaultEnvironment({ redis, postgres, databaseUrl, cluster, balancer, logs, database });
    } catch (error) {
      for (const stop of stops) await stop().catch(() => {});
      throw error;
    }
  }

  /** Stops everything, thawing whatever a failed test left frozen. */
  async stop(): Promise<void> {
    this.redis.resume();
    this.postgres.resume();
    await this.balancer.stop().catch(() => {});
    await this.database.close().catch(() => {});
    await this.cluster.stop().catch(() => {});
    await Promise.all([this.redis.stop(), this.postgres.stop()]);
  }

  // Fault controls. Each resolves once the fault is in place (or over).

  /** SIGSTOPs redis-server: connections stay open, nothing answers. */
  pauseRedis(): Promise<void> {
    return this.redis.pause();
  }

  resumeRedis(): void {
    this.redis.resume();
  }

  /** SIGKILLs redis-server: every connection is reset, every key is gone. */
  killRedis(): Promise<void> {
    return this.redis.kill('SIGKILL');
  }

  /** Starts redis-server again, empty, on the same port. */
  restartRedis(): Promise<void> {
    return this.redis.start();
  }

  /** Stops Postgres (fast shutdown: open transactions roll back, clients are disconnected). */
  stopPostgres(): Promise<void> {
    return this.postgres.halt('fast');
  }

  /** Starts Postgres again on the same data directory and port. */
  startPostgres(): Promise<void> {
    return this.postgres.start();
  }

  /** SIGSTOPs the postmaster and every backend. */
  pausePostgres(): Promise<void> {
    return this.postgres.pause();
  }

  resumePostgres(): void {
    this.postgres.resume();
  }

  /** Sends `signal` to a pod and waits until it has exited. */
  killPod(index: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    return this.cluster.kill(index, signal);
  }

  /** Starts a stopped pod again on its port; resolves once it is ready. */
  restartPod(index: number): Promise<void> {
    return this.cluster.restart(index);
  }
}
