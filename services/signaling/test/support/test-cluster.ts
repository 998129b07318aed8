import type { ParleySocket } from '@parley/client';
import { deleteRedisKeys, startCluster, type Cluster } from '@parley/testkit';
import { createTestDatabase, redisUrl, type TestDatabase } from '@parley/testkit/vitest';
import { connect, type TestUser } from './users.ts';

/**
 * Three real pod processes on this test file's own database and Redis
 * prefix, plus the sockets a test opened (closed by `closeSockets`).
 */
export class TestCluster {
  readonly cluster: Cluster;
  readonly database: TestDatabase;
  readonly #sockets: ParleySocket[] = [];

  private constructor(cluster: Cluster, database: TestDatabase) {
    this.cluster = cluster;
    this.database = database;
  }

  static async start(env: Record<string, string> = {}): Promise<TestCluster> {
    const database = await createTestDatabase();
    const cluster = await startCluster({ pods: 3, databaseUrl: database.url, redisUrl: redisUrl(), env });
    return new TestCluster(cluster, database);
  }

  url(pod: number): string {
    return this.cluster.url(pod);
  }

  /** Connects `user` to one pod, as the device `clientInstanceId` (a new one when absent). */
  async connect(pod: number, user: TestUser, options: { clientInstanceId?: string; connectionScope?: string } = {}): Promise<ParleySocket> {
    const socket = await connect(this.url(pod), user, options);
    this.#sockets.push(socket);
    return socket;
  }

  closeSockets(): void {
    for (const socket of this.#sockets.splice(0)) socket.close();
  }

  async stop(): Promise<void> {
    this.closeSockets();
    await this.cluster.stop();
    await this.database.drop();
    await deleteRedisKeys(redisUrl(), this.cluster.redisKeyPrefix);
  }
}
