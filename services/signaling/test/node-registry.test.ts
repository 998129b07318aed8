import { randomUUID } from 'node:crypto';
import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisPresenceStore } from '../src/adapters/redis/presence-store.ts';
import { RedisVoiceStore } from '../src/adapters/redis/voice-store.ts';
import { NodeIncarnation } from '../src/cluster/node-identity.ts';
import { MemoryNodeRegistry } from '../src/adapters/memory/node-registry.ts';
import { RedisNodeRegistry } from '../src/adapters/redis/node-registry.ts';

const TTL_MS = 300;

const namespace = createRedisNamespace();
const connections: Redis[] = [];
afterAll(async () => {
  await namespace.cleanup();
  for (const redis of connections) redis.disconnect();
});

/**
 * A pod of one cluster (`keyPrefix`): its own Redis connection, identity,
 * registry and stores. `ttlMs`: how long its beat keeps it alive, and how old
 * a beat or a claim must be before it claims them.
 */
function pod(keyPrefix: string, nodeId: string, ttlMs = TTL_MS) {
  const redis = new Redis(redisUrl());
  connections.push(redis);
  const identity = new NodeIncarnation(nodeId);
  return {
    identity,
    registry: new RedisNodeRegistry({ redis, keyPrefix, identity, ttlMs }),
    presence: new RedisPresenceStore({ redis, keyPrefix, identity }),
    voice: new RedisVoiceStore({ redis, keyPrefix, identity }),
  };
}

const newCluster = () => `${namespace.prefix}${randomUUID()}:`;

/** Polls `check` until it holds; a few times per TTL, so a lapse is seen soon after it happens. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10 * TTL_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A claimant whose TTL (a minute) cannot have run out since anything this test
 * did: what it finds lapsed, however slow the machine, is lapsed by mistake.
 */
const patientClaimant = (keyPrefix: string) => pod(keyPrefix, 'patient', 60_000).registry;

/** Keeps a pod beating every third of the TTL until the returned function is called. */
function keepBeating(registry: RedisNodeRegistry): () => void {
  const timer = setInterval(() => void registry.heartbeat(), TTL_MS / 3);
  return () => clearInterval(timer);
}

describe('node registry: memory (embedded)', () => {
  it('is one node, alive while the process runs', async () => {
    const registry = new MemoryNodeRegistry();
    expect(await registry.heartbeat()).toBe(true);
    expect(await registry.claimLapsed()).toEqual([]);
    await registry.leave();
    expect(await registry.heartbeat()).toBe(true);
  });
});

describe('node incarnation', () => {
  it('is the node id and a random suffix, renewed to a different one', () => {
    const identity = new NodeIncarnation('pod-1');
    const first = identity.current;
    expect(first).toMatch(/^pod-1#[0-9a-f]{6}$/);
    expect(new NodeIncarnation('pod-1').current).not.toBe(first);
    const renewed = identity.renew();
    expect(renewed).toMatch(/^pod-1#[0-9a-f]{6}$/);
    expect(renewed).not.toBe(first);
    expect(identity.current).toBe(renewed);
  });
});

describe('node registry: redis (cluster)', () => {
  it('gives a node that stopped beating to exactly one of two pods claiming at once', async () => {
    const cluster = newCluster();
    const [a, b, dying] = [pod(cluster, 'a'), pod(cluster, 'b'), pod(cluster, 'dying')];
    expect(await dying.registry.heartbeat()).toBe(true);
    expect(await patientClaimant(cluster).claimLapsed()).toEqual([]); // its beat is within the claimant's TTL

    const claims: string[] = [];
    await until(async () => {
      const [byA, byB] = await Promise.all([a.registry.claimLapsed(), b.registry.claimLapsed()]);
      claims.push(...byA, ...byB);
      return claims.length > 0;
    }, 'the claim');
    expect(claims).toEqual([dying.identity.current]);
    expect(await Promise.all([a.registry.claimLapsed(), b.registry.claimLapsed()])).toEqual([[], []]);
  });

  it('hands a claim out again when its claimant did not forget it within the TTL, and not once forgotten', async () => {
    const cluster = newCluster();
    const [crashing, survivor, dying, other] = [pod(cluster, 'crashing'), pod(cluster, 'survivor'), pod(cluster, 'dying'), pod(cluster, 'other')];
    expect(await dying.registry.heartbeat()).toBe(true);
    expect(await other.registry.heartbeat()).toBe(true);
    const claimed: string[] = [];
    await until(async () => (claimed.push(...(await crashing.registry.claimLapsed())), new Set(claimed).size === 2), 'both claimed');
    // The claimant clears one node, then dies before clearing the other.
    await crashing.registry.forget(other.identity.current);
    expect(await patientClaimant(cluster).claimLapsed()).toEqual([]); // the claim is within the claimant's TTL
    const reclaimed: string[] = [];
    await until(async () => (reclaimed.push(...(await survivor.registry.claimLapsed())), reclaimed.length > 0), 'the reclaim');
    expect(reclaimed).toEqual([dying.identity.current]);
    await survivor.registry.forget(dying.identity.current);
    await new Promise((resolve) => setTimeout(resolve, 2 * TTL_MS));
    expect(await survivor.registry.claimLapsed()).toEqual([]);
  });

  it('keeps a beating node, and does not claim a node that left', async () => {
    const cluster = newCluster();
    const [watcher, beating, leaving] = [pod(cluster, 'watcher'), pod(cluster, 'beating'), pod(cluster, 'leaving')];
    expect(await beating.registry.heartbeat()).toBe(true);
    expect(await leaving.registry.heartbeat()).toBe(true);
    await leaving.registry.leave();
    // The watcher claims and the beating node beats back to back, so no TTL passes between two beats
    // however loaded the machine; a node that did not leave would be claimed after one TTL.
    const seen: string[] = [];
    const deadline = Date.now() + 2 * TTL_MS;
    while (Date.now() < deadline) {
      seen.push(...(await watcher.registry.claimLapsed()));
      expect(await beating.registry.heartbeat()).toBe(true);
    }
    expect(seen).toEqual([]);
  });

  it('tells a node it was claimed; renewed, it beats and records under its new id', async () => {
    const cluster = newCluster();
    const [reaper, frozen] = [pod(cluster, 'reaper'), pod(cluster, 'frozen')];
    expect(await frozen.registry.heartbeat()).toBe(true);
    const old = frozen.identity.current;
    await until(async () => (await reaper.registry.claimLapsed()).includes(old), 'the claim');

    expect(await frozen.registry.heartbeat()).toBe(false);
    expect(await frozen.registry.heartbeat()).toBe(false); // and it stays unknown
    frozen.identity.renew();
    expect(await frozen.registry.heartbeat()).toBe(true);
    expect(await frozen.registry.heartbeat()).toBe(true);

    const room = { serverId: randomUUID(), channelId: randomUUID() };
    const user = randomUUID();
    const join = await frozen.voice.join({ ...room, userId: user, connectionId: 'c', clientInstanceId: 'i', serverMuted: false }, 5);
    expect(join).toMatchObject({ status: 'joined', seat: { nodeId: frozen.identity.current } });
    expect(await reaper.voice.owner(user)).toMatchObject({ nodeId: frozen.identity.current });
    expect(await reaper.voice.removeNode(old)).toEqual({ seats: [], owners: [] });
  });

  it('treats the voice of a dead node as gone, yet leaves it for the claimant to remove and report', async () => {
    const cluster = newCluster();
    const [alive, other, dead] = [pod(cluster, 'alive'), pod(cluster, 'other'), pod(cluster, 'dead')];
    const stop = keepBeating(alive.registry);
    try {
      await alive.registry.heartbeat();
      await dead.registry.heartbeat();
      const deadNode = dead.identity.current;
      const server = randomUUID();
      const [small, second, third] = [randomUUID(), randomUUID(), randomUUID()];
      const join = (store: RedisVoiceStore, userId: string, channelId: string, connectionId = `c-${randomUUID()}`) =>
        store.join({ userId, serverId: server, channelId, connectionId, clientInstanceId: 'i', serverMuted: false }, 1);
      const [stays, moves] = [randomUUID(), randomUUID()];
      const staysSeat = await join(dead.voice, stays, small);
      const movesSeat = await join(dead.voice, moves, second);
      await dead.presence.set(stays, 'c-presence', 'online');

      // While the dead node's heartbeat lasts, its seat fills the room and its owners hold their voice.
      expect(await join(alive.voice, randomUUID(), small)).toEqual({ status: 'full' });
      expect(await join(alive.voice, moves, third)).toMatchObject({ status: 'owned_elsewhere' });

      await until(async () => (await alive.voice.owner(stays)) === null, 'the lapse');
      expect(await alive.voice.owner(moves)).toBeNull();
      expect((await alive.voice.seats([small])).get(small)).toEqual([]);
      const newcomer = await join(alive.voice, randomUUID(), small);
      expect(newcomer).toMatchObject({ status: 'joined' });
      const moved = await join(alive.voice, moves, third);
      expect(moved).toMatchObject({ status: 'joined', moved: (movesSeat as { seat: unknown }).seat, alreadySeated: false });
      expect(await alive.voice.owner(moves)).toMatchObject({ nodeId: alive.identity.current, channelId: third });

      const claims: string[] = [];
      await until(async () => {
        const [byAlive, byOther] = await Promise.all([alive.registry.claimLapsed(), other.registry.claimLapsed()]);
        claims.push(...byAlive, ...byOther);
        return claims.length > 0;
      }, 'the claim');
      expect(claims).toEqual([deadNode]);

      const removed = await other.voice.removeNode(deadNode);
      expect(removed).toEqual({
        seats: [(staysSeat as { seat: unknown }).seat],
        owners: [expect.objectContaining({ userId: stays, nodeId: deadNode })],
      });
      expect(await other.voice.removeNode(deadNode)).toEqual({ seats: [], owners: [] });
      expect(await other.presence.removeNode(deadNode)).toEqual([{ userId: stays, previous: 'online', status: 'offline' }]);
      expect(await other.presence.removeNode(deadNode)).toEqual([]);
      expect((await alive.voice.seats([small])).get(small)).toEqual([(newcomer as { seat: unknown }).seat]);
      expect(await dead.registry.heartbeat()).toBe(false);
    } finally {
      stop();
    }
  });
});
