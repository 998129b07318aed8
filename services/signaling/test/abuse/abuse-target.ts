import { readFileSync } from 'node:fs';
import { ParleySocket } from '@parley/client';
import type { Database } from '@parley/db';
import { deleteRedisKeys, startCluster, type Cluster, type Pod } from '@parley/testkit';
import { createTestDatabase, redisUrl, type TestDatabase } from '@parley/testkit/vitest';
import { addMember } from '../support/communities.ts';
import { registerUser, type TestUser } from '../support/users.ts';

/**
 * One real pod under abuse, on this file's own database and Redis prefix.
 * It believes one proxy hop, so that an attacker can speak from addresses of
 * its own (`X-Forwarded-For`), as it would through a load balancer, while
 * the victims connect from the loopback address; every limit not set in
 * `env` keeps its production default.
 */
export class AbuseTarget {
  readonly cluster: Cluster;
  readonly testDatabase: TestDatabase;
  readonly #database: Database;

  private constructor(cluster: Cluster, testDatabase: TestDatabase, database: Database) {
    this.cluster = cluster;
    this.testDatabase = testDatabase;
    this.#database = database;
  }

  static async start(env: Record<string, string> = {}): Promise<AbuseTarget> {
    const database = await createTestDatabase();
    const cluster = await startCluster({
      pods: 1,
      databaseUrl: database.url,
      redisUrl: redisUrl(),
      env: { TRUST_PROXY_HOPS: '1', RATE_LIMIT_AUTH: '100000/1m', RATE_LIMIT_COMMUNITY_WRITE: '100000/1m', ...env },
    });
    return new AbuseTarget(cluster, database, await database.open());
  }

  get pod(): Pod {
    return this.cluster.pod(0);
  }

  get url(): string {
    return this.pod.url;
  }

  /** The pod process's resident memory, in MiB. */
  rssMiB(): number {
    const status = readFileSync(`/proc/${this.pod.process!.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
  }

  /** Log lines of the pod at error level or above. */
  errors(): Array<Record<string, unknown>> {
    return this.pod.logs().filter((line) => Number(line.level) >= 50);
  }

  /** A connected user, owner of a fresh community: its id and its text channel's. */
  async victim(): Promise<{ user: TestUser; socket: ParleySocket; serverId: string; channelId: string }> {
    const user = await registerUser(this.url);
    const server = await user.http.createServer({ name: 'victims' });
    const socket = await ParleySocket.connect({ url: this.url, token: user.session.token, reconnection: false });
    return { user, socket, serverId: server.id, channelId: server.channels[0]!.id };
  }

  /** Another connected user, a member of `serverId`. */
  async member(serverId: string): Promise<ParleySocket> {
    const user = await registerUser(this.url);
    await addMember(this.#database, serverId, user.session.id);
    return ParleySocket.connect({ url: this.url, token: user.session.token, reconnection: false });
  }

  async stop(): Promise<void> {
    await this.cluster.stop();
    await this.testDatabase.drop();
    await deleteRedisKeys(redisUrl(), this.cluster.redisKeyPrefix);
  }
}

/** Latencies of a victim's chat messages, sent one after another while an attack runs. */
export class VictimProbe {
  readonly latenciesMs: number[] = [];
  readonly failures: unknown[] = [];
  #running = true;
  readonly #done: Promise<void>;

  constructor(socket: ParleySocket, channelId: string, options: { everyMs?: number } = {}) {
    this.#done = (async () => {
      for (let i = 0; this.#running; i++) {
        const sentAt = performance.now();
        try {
          await socket.request('chat:send', { conversationId: channelId, text: `victim ${i}` });
          this.latenciesMs.push(performance.now() - sentAt);
        } catch (error) {
          this.failures.push(error);
        }
        await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 100));
      }
    })();
  }

  async stop(): Promise<{ sent: number; failures: unknown[]; p99Ms: number; maxMs: number }> {
    this.#running = false;
    await this.#done;
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    return {
      sent: sorted.length,
      failures: this.failures,
      p99Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Infinity,
      maxMs: sorted.at(-1) ?? Infinity,
    };
  }
}
