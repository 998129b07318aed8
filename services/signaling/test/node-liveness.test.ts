import { randomUUID } from 'node:crypto';
import type { Database } from '@parley/db';
import { createRedisNamespace, createTestDatabase, redisUrl, type TestDatabase } from '@parley/testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisPresenceStore } from '../src/adapters/redis/presence-store.ts';
import { NodeIncarnation } from '../src/cluster/node-identity.ts';
import { NodeLiveness } from '../src/cluster/node-liveness.ts';
import { RedisNodeRegistry } from '../src/adapters/redis/node-registry.ts';
import { PresenceService } from '../src/domain/presence/presence.service.ts';
import { Store } from '../src/domain/store.ts';
import { createLogger } from '../src/logger.ts';
import { RecordingRealtime } from './support/recording-realtime.ts';
import { eventually } from './support/users.ts';

const TTL_MS = 300;
const namespace = createRedisNamespace();
const connections: Redis[] = [];
let testDatabase: TestDatabase;
let database: Database;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  database = await testDatabase.open();
});
afterAll(async () => {
  for (const redis of connections) redis.disconnect();
  await namespace.cleanup();
  await testDatabase.drop();
});

/**
 * A pod's presence and liveness on its own Redis connection; its heartbeats
 * are driven by the test. `ttlMs` is how long a heartbeat keeps a pod alive,
 * and how old another pod's last beat must be before this one claims it.
 */
function pod(nodeId: string, ttlMs = TTL_MS) {
  const redis = new Redis(redisUrl());
  connections.push(redis);
  const identity = new NodeIncarnation(nodeId);
  const realtime = new RecordingRealtime();
  const logger = createLogger({ level: 'silent', format: 'json', nodeId });
  const shared = { redis, keyPrefix: namespace.prefix, identity };
  const presence = new PresenceService({ store: new Store(database.db), presence: new RedisPresenceStore(shared), realtime, logger });
  const liveness = new NodeLiveness({
    registry: new RedisNodeRegistry({ ...shared, ttlMs }),
    identity,
    states: [presence],
    intervalMs: 60_000,
    logger,
  });
  const announced = (userId: string) =>
    realtime.emitted.filter((emit) => emit.event === 'presence:updated' && (emit.payload as { userId: string }).userId === userId);
  return { identity, presence, liveness, announced };
}

it('a pod that froze past its heartbeat is cleared by another, then records its connections again under a new incarnation', async () => {
  const frozen = pod('frozen');
  const watcher = pod('watcher');
  const userId = randomUUID();
  // Taken before the beat: the beat's own time (Redis's clock, the same as this process's) is no earlier.
  const lastBeatStarted = Date.now();
  await frozen.liveness.beat();
  await frozen.presence.connected(userId, 'socket-1');
  expect(await watcher.presence.statuses([userId])).toEqual(new Map([[userId, 'online']]));

  // A claimant compares the last beat with its own TTL. One whose TTL cannot have run out since that
  // beat (a minute) finds the frozen pod within it, however slow this machine is, and claims nothing.
  const patient = pod('patient', 60_000);
  await patient.liveness.beat();
  expect(patient.announced(userId)).toEqual([]);
  expect((await patient.presence.statuses([userId])).get(userId)).toBe('online');
  await patient.liveness.stop();

  // The frozen pod stops beating; the watcher claims it once its heartbeat lapsed and announces the user offline.
  await eventually(
    async () => {
      await watcher.liveness.beat();
      return watcher.announced(userId).length > 0;
    },
    10 * TTL_MS,
    'the frozen pod cleared',
  );
  // The claim came more than a TTL after the beat, so more than a TTL after a time taken before the beat.
  expect(Date.now() - lastBeatStarted).toBeGreaterThanOrEqual(TTL_MS);
  expect(watcher.announced(userId).map((emit) => emit.payload)).toEqual([{ userId, status: 'offline' }]);
  expect((await watcher.presence.statuses([userId])).get(userId)).toBe('offline');

  // It wakes up: its next beat finds it was declared dead, renews its incarnation and records the connection again.
  const before = frozen.identity.current;
  await frozen.liveness.beat();
  expect(frozen.identity.current).not.toBe(before);
  expect(frozen.announced(userId).map((emit) => emit.payload)).toEqual([
    { userId, status: 'online' },
    { userId, status: 'online' },
  ]);
  expect((await watcher.presence.statuses([userId])).get(userId)).toBe('online');

  // Both keep beating, back to back, for two TTLs: nothing is claimed again and the user stays online.
  // (Beats paced by sleeps would leave a loaded machine room to let a TTL pass between two of them.)
  const steadyUntil = Date.now() + 2 * TTL_MS;
  while (Date.now() < steadyUntil) {
    await frozen.liveness.beat();
    await watcher.liveness.beat();
  }
  expect((await watcher.presence.statuses([userId])).get(userId)).toBe('online');
  expect(watcher.announced(userId)).toHaveLength(1);

  // A clean stop removes its connections at once.
  await frozen.liveness.stop();
  expect((await watcher.presence.statuses([userId])).get(userId)).toBe('offline');
});
