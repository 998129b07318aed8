import { randomUUID } from 'node:crypto';
import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryVoiceStore } from '../src/adapters/memory/voice-store.ts';
import { RedisVoiceStore } from '../src/adapters/redis/voice-store.ts';
import { NodeIncarnation } from '../src/cluster/node-identity.ts';
import type { NodeIdentity, NodeRegistry } from '../src/cluster/node-registry.ts';
import { RedisNodeRegistry } from '../src/adapters/redis/node-registry.ts';
import type { VoiceJoinResult, VoiceSeat, VoiceStore } from '../src/domain/voice/voice.store.ts';

const namespace = createRedisNamespace();
const connections: Redis[] = [];
afterAll(async () => {
  await namespace.cleanup();
  for (const redis of connections) redis.disconnect();
});

interface Pod {
  store: VoiceStore;
  identity: NodeIdentity;
}

/**
 * Stores sharing one state, each standing for a pod. Redis: each pod has its
 * own connection and identity. Memory: one process, so the pods are one store
 * with one identity (a test that needs two nodes renews it in between).
 * Memory treats every node as alive; Redis only those with a heartbeat, so the
 * Redis pods beat here (the heartbeat's lapse is node-registry.test.ts's subject).
 */
type Cluster = (pods: number) => Promise<Pod[]>;

const memoryCluster: Cluster = async (pods) => {
  const identity = new NodeIncarnation('embedded');
  const store = new MemoryVoiceStore(identity);
  return Array.from({ length: pods }, () => ({ store, identity }));
};

const redisCluster: Cluster = async (pods) => {
  const keyPrefix = `${namespace.prefix}${randomUUID()}:`;
  return Array.from({ length: pods }, (_, i) => {
    const redis = new Redis(redisUrl());
    connections.push(redis);
    const identity = new NodeIncarnation(`pod-${i}`);
    const store = new RedisVoiceStore({ redis, keyPrefix, identity });
    return { store: beatingBeforeEachCall(store, new RedisNodeRegistry({ redis, keyPrefix, identity, ttlMs: 60_000 })), identity };
  });
};

/** The store, its node beating (under whatever incarnation is current) before each call. */
function beatingBeforeEachCall(store: VoiceStore, registry: NodeRegistry): VoiceStore {
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await registry.heartbeat();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

interface Room {
  serverId: string;
  channelId: string;
}

const newRoom = (serverId: string = randomUUID()): Room => ({ serverId, channelId: randomUUID() });

/** A join request of a fresh connection (the user's too, unless given). */
function request(room: Room, overrides: Partial<Pick<VoiceSeat, 'userId' | 'connectionId' | 'clientInstanceId' | 'serverMuted'>> = {}) {
  return {
    userId: randomUUID(),
    connectionId: `conn-${randomUUID()}`,
    clientInstanceId: `instance-${randomUUID()}`,
    serverMuted: false,
    ...room,
    ...overrides,
  };
}

function joinedSeat(result: VoiceJoinResult): VoiceSeat {
  if (result.status !== 'joined') throw new Error(`expected joined, got ${result.status}`);
  return result.seat;
}

describe.each<[string, Cluster]>([
  ['memory (embedded)', memoryCluster],
  ['redis (cluster)', redisCluster],
])('voice store: %s', (_name, cluster) => {
  it('seats a user with fresh flags and makes the connection the owner', async () => {
    const [{ store, identity }] = (await cluster(1)) as [Pod];
    const room = newRoom();
    const join = request(room);
    const before = Date.now();
    const result = await store.join(join, 5);
    const after = Date.now();
    const seat: VoiceSeat = {
      userId: join.userId,
      serverId: room.serverId,
      channelId: room.channelId,
      clientInstanceId: join.clientInstanceId,
      connectionId: join.connectionId,
      nodeId: identity.current,
      streamId: null,
      isMuted: false,
      isDeafened: false,
      isAFK: false,
      serverMuted: false,
      joinedAt: expect.any(Number) as number,
    };
    expect(result).toEqual({ status: 'joined', seat, moved: null, alreadySeated: false });
    // Stamped while the join ran (Redis's clock is this machine's).
    expect(joinedSeat(result).joinedAt).toBeGreaterThanOrEqual(before);
    expect(joinedSeat(result).joinedAt).toBeLessThanOrEqual(after);
    expect(await store.owner(join.userId)).toEqual({
      userId: join.userId,
      clientInstanceId: join.clientInstanceId,
      connectionId: join.connectionId,
      nodeId: identity.current,
      channelId: room.channelId,
    });
    expect(await store.seats([room.channelId])).toEqual(new Map([[room.channelId, [joinedSeat(result)]]]));
  });

  it('answers alreadySeated to the same connection, applying the new server mute and keeping the other flags', async () => {
    const [{ store }] = (await cluster(1)) as [Pod];
    const room = newRoom();
    const join = request(room);
    const first = joinedSeat(await store.join(join, 5));
    await store.update(join.userId, join.connectionId, { isDeafened: true, streamId: 'stream-1' });

    const again = await store.join({ ...join, serverMuted: true }, 5);
    expect(again).toEqual({
      status: 'joined',
      seat: { ...first, serverMuted: true, isMuted: true, isDeafened: true, streamId: 'stream-1' },
      moved: null,
      alreadySeated: true,
    });
    expect((await store.seats([room.channelId])).get(room.channelId)).toHaveLength(1);
  });

  it('moves a user to another room: the old seat is returned and the new one starts fresh', async () => {
    const [{ store }] = (await cluster(1)) as [Pod];
    const [from, to] = [newRoom(), newRoom()];
    const join = request(from);
    const old = joinedSeat(await store.join(join, 5));
    await store.update(join.userId, join.connectionId, { isAFK: true, isMuted: true, streamId: 'stream-1' });

    const result = await store.join({ ...join, ...to }, 5);
    expect(result).toMatchObject({
      status: 'joined',
      moved: { ...old, isAFK: true, isMuted: true, streamId: 'stream-1' },
      alreadySeated: false,
    });
    expect(joinedSeat(result)).toMatchObject({ ...to, isAFK: false, isMuted: false, streamId: null });
    expect(await store.seats([from.channelId, to.channelId])).toEqual(
      new Map([
        [from.channelId, []],
        [to.channelId, [joinedSeat(result)]],
      ]),
    );
    expect((await store.owner(join.userId))?.channelId).toBe(to.channelId);
  });

  it('refuses a full room and changes nothing, also for a user who would move', async () => {
    const [{ store }] = (await cluster(1)) as [Pod];
    const [full, other] = [newRoom(), newRoom()];
    const seated = [joinedSeat(await store.join(request(full), 2)), joinedSeat(await store.join(request(full), 2))];
    const newcomer = request(full);
    expect(await store.join(newcomer, 2)).toEqual({ status: 'full' });
    expect(await store.owner(newcomer.userId)).toBeNull();

    const mover = request(other);
    const moverSeat = joinedSeat(await store.join(mover, 2));
    expect(await store.join({ ...mover, ...full }, 2)).toEqual({ status: 'full' });
    // The same seats as before, compared in any order: the two seats may share a join millisecond,
    // and what order seats() gives is the subject of its own test.
    const seats = await store.seats([full.channelId, other.channelId]);
    expect(new Set(seats.keys())).toEqual(new Set([full.channelId, other.channelId]));
    expect(seats.get(full.channelId)).toHaveLength(seated.length);
    expect(seats.get(full.channelId)).toEqual(expect.arrayContaining(seated));
    expect(seats.get(other.channelId)).toEqual([moverSeat]);
    expect((await store.owner(mover.userId))?.channelId).toBe(other.channelId);
  });

  it('answers owned_elsewhere when another connection owns the user’s voice, changing nothing', async () => {
    const [a, b] = (await cluster(2)) as [Pod, Pod];
    const room = newRoom();
    const first = request(room);
    const seat = joinedSeat(await a.store.join(first, 5));
    const owner = await a.store.owner(first.userId);

    const second = request(newRoom(), { userId: first.userId });
    expect(await b.store.join(second, 5)).toEqual({ status: 'owned_elsewhere', owner });
    expect(await b.store.owner(first.userId)).toEqual(owner);
    expect(await b.store.seats([room.channelId, second.channelId])).toEqual(
      new Map([
        [room.channelId, [seat]],
        [second.channelId, []],
      ]),
    );
  });

  it('seats exactly `capacity` users when three pods seat ten each into one room at once', async () => {
    const pods = await cluster(3);
    const room = newRoom();
    const results = await Promise.all(
      pods.flatMap((pod) => Array.from({ length: 10 }, () => pod.store.join(request(room), 5))),
    );
    expect(results.filter((result) => result.status === 'joined')).toHaveLength(5);
    expect(results.filter((result) => result.status === 'full')).toHaveLength(25);
    expect((await pods[0]!.store.seats([room.channelId])).get(room.channelId)).toHaveLength(5);
  });

  it('lists seats per room in join order, and no seats for an empty room', async () => {
    const [{ store }] = (await cluster(1)) as [Pod];
    const [room, empty] = [newRoom(), newRoom()];
    const seats: VoiceSeat[] = [];
    for (let i = 0; i < 8; i++) {
      // Back to back: seats taken in the same millisecond still come back in join order.
      seats.push(joinedSeat(await store.join(request(room), 10)));
    }
    expect(await store.seats([empty.channelId, room.channelId])).toEqual(
      new Map([
        [empty.channelId, []],
        [room.channelId, seats],
      ]),
    );
  });

  it('lets only the owning connection update or leave', async () => {
    const [{ store }] = (await cluster(1)) as [Pod];
    const room = newRoom();
    const join = request(room);
    const seat = joinedSeat(await store.join(join, 5));

    expect(await store.update(join.userId, 'another-connection', { isDeafened: true })).toBeNull();
    expect(await store.leave(join.userId, 'another-connection')).toEqual({ owned: false, seat: null });
    expect(await store.seats([room.channelId])).toEqual(new Map([[room.channelId, [seat]]]));

    const updated = await store.update(join.userId, join.connectionId, { isDeafened: true, isAFK: true, streamId: 's' });
    expect(updated).toEqual({ ...seat, isDeafened: true, isAFK: true, streamId: 's' });
    expect(await store.update(join.userId, join.connectionId, { streamId: null })).toEqual({ ...updated, streamId: null });

    expect(await store.leave(join.userId, join.connectionId)).toEqual({
      owned: true,
      seat: { ...seat, isDeafened: true, isAFK: true },
    });
    expect(await store.owner(join.userId)).toBeNull();
    expect((await store.seats([room.channelId])).get(room.channelId)).toEqual([]);
    expect(await store.leave(join.userId, join.connectionId)).toEqual({ owned: false, seat: null });
    expect(await store.update(join.userId, join.connectionId, { isMuted: true })).toBeNull();
  });

  it('keeps a server-muted seat muted until the server mute is lifted, within that server only', async () => {
    const [{ store }] = (await cluster(1)) as [Pod];
    const room = newRoom();
    const join = request(room);
    joinedSeat(await store.join(join, 5));

    expect(await store.setServerMuted(randomUUID(), join.userId, true)).toBeNull();
    expect(await store.setServerMuted(room.serverId, join.userId, true)).toMatchObject({ serverMuted: true, isMuted: true });
    expect(await store.update(join.userId, join.connectionId, { isMuted: false })).toMatchObject({ isMuted: true });
    expect(await store.setServerMuted(room.serverId, join.userId, false)).toMatchObject({ serverMuted: false, isMuted: true });
    expect(await store.update(join.userId, join.connectionId, { isMuted: false })).toMatchObject({ isMuted: false });
    expect(await store.setServerMuted(room.serverId, randomUUID(), true)).toBeNull();

    const mutedJoin = request(room, { serverMuted: true });
    expect(joinedSeat(await store.join(mutedJoin, 5))).toMatchObject({ serverMuted: true, isMuted: true });
  });

  it('hands the voice to another connection on takeover, moving the seat with its flags', async () => {
    const [a, b] = (await cluster(2)) as [Pod, Pod];
    const room = newRoom();
    const join = request(room);
    const seat = joinedSeat(await a.store.join(join, 5));
    await a.store.update(join.userId, join.connectionId, { isDeafened: true });
    const previous = await a.store.owner(join.userId);
    const firstNode = a.identity.current;
    a.identity.renew(); // the memory store's pods share one identity: what follows is another node

    const taken = await b.store.takeover(join.userId, 'conn-2', 'instance-2');
    const rebound = { ...seat, isDeafened: true, connectionId: 'conn-2', clientInstanceId: 'instance-2', nodeId: b.identity.current };
    expect(taken).toEqual({ previous, seat: rebound });
    expect(await a.store.owner(join.userId)).toEqual({
      userId: join.userId,
      clientInstanceId: 'instance-2',
      connectionId: 'conn-2',
      nodeId: b.identity.current,
      channelId: room.channelId,
    });
    expect(await a.store.seats([room.channelId])).toEqual(new Map([[room.channelId, [rebound]]]));
    expect(await a.store.update(join.userId, join.connectionId, { isMuted: true })).toBeNull();
    expect(await b.store.update(join.userId, 'conn-2', { isMuted: true })).toMatchObject({ isMuted: true });
    expect(await b.store.takeover(join.userId, 'conn-2', 'instance-2')).toMatchObject({ previous: null });
    // The first node no longer holds the user's voice.
    expect(await a.store.removeNode(firstNode)).toEqual({ seats: [], owners: [] });
    expect(await a.store.owner(join.userId)).toMatchObject({ connectionId: 'conn-2' });
  });

  it('takes over a user without voice: an owner without a seat, who may then join', async () => {
    const [{ store, identity }] = (await cluster(1)) as [Pod];
    const user = randomUUID();
    expect(await store.takeover(user, 'conn-1', 'instance-1')).toEqual({ previous: null, seat: null });
    expect(await store.owner(user)).toEqual({
      userId: user,
      clientInstanceId: 'instance-1',
      connectionId: 'conn-1',
      nodeId: identity.current,
      channelId: null,
    });
    expect(await store.join(request(newRoom(), { userId: user }), 5)).toMatchObject({ status: 'owned_elsewhere' });
    const result = await store.join(request(newRoom(), { userId: user, connectionId: 'conn-1', clientInstanceId: 'instance-1' }), 5);
    expect(result).toMatchObject({ status: 'joined', moved: null, alreadySeated: false });
  });

  it('evicts a user only from the rooms of the given server, releasing their voice', async () => {
    const [{ store }] = (await cluster(1)) as [Pod];
    const room = newRoom();
    const join = request(room);
    const seat = joinedSeat(await store.join(join, 5));

    expect(await store.evict(randomUUID(), join.userId)).toBeNull();
    expect(await store.owner(join.userId)).not.toBeNull();
    expect(await store.evict(room.serverId, join.userId)).toEqual(seat);
    expect(await store.owner(join.userId)).toBeNull();
    expect((await store.seats([room.channelId])).get(room.channelId)).toEqual([]);
    expect(await store.evict(room.serverId, join.userId)).toBeNull();
  });

  it('removes everything a node held once: its seats and its owners, not another node’s', async () => {
    const [a, b] = (await cluster(2)) as [Pod, Pod];
    const [room1, room2] = [newRoom(), newRoom()];
    const seat1 = joinedSeat(await a.store.join(request(room1), 5));
    const seat2 = joinedSeat(await a.store.join(request(room2), 5));
    const seatless = randomUUID();
    await a.store.takeover(seatless, 'conn-seatless', 'instance-seatless');
    const owners = await Promise.all([seat1.userId, seat2.userId, seatless].map((user) => a.store.owner(user)));
    const deadNode = a.identity.current;
    a.identity.renew(); // the memory store's pods share one identity: what follows is another node
    const survivor = joinedSeat(await b.store.join(request(room1), 5));

    const removed = await b.store.removeNode(deadNode);
    const byUser = <T extends { userId: string }>(items: T[]) => [...items].sort((x, y) => (x.userId < y.userId ? -1 : 1));
    expect(byUser(removed.seats)).toEqual(byUser([seat1, seat2]));
    expect(byUser(removed.owners)).toEqual(byUser(owners.filter((owner) => owner !== null)));
    expect(removed.owners).toHaveLength(3);
    expect(await b.store.removeNode(deadNode)).toEqual({ seats: [], owners: [] });

    expect(await b.store.seats([room1.channelId, room2.channelId])).toEqual(
      new Map([
        [room1.channelId, [survivor]],
        [room2.channelId, []],
      ]),
    );
    for (const user of [seat1.userId, seat2.userId, seatless]) expect(await b.store.owner(user)).toBeNull();
    expect(await b.store.owner(survivor.userId)).toMatchObject({ connectionId: survivor.connectionId });
  });

  it('removes every owner of a large node once', async () => {
    const [a, b] = (await cluster(2)) as [Pod, Pod];
    const room = newRoom();
    // More owners than one script's batch.
    const seatless = Array.from({ length: 510 }, () => randomUUID());
    await Promise.all(seatless.map((user) => a.store.takeover(user, `conn-${user}`, 'instance')));
    const seated = await Promise.all(Array.from({ length: 10 }, () => a.store.join(request(room), 25)));
    const deadNode = a.identity.current;
    a.identity.renew(); // the memory store's pods share one identity: what follows is another node

    const removed = await b.store.removeNode(deadNode);
    expect(new Set(removed.owners.map((owner) => owner.userId)).size).toBe(520);
    expect(removed.owners).toHaveLength(520);
    expect(removed.seats.map((seat) => seat.userId).sort()).toEqual(seated.map((result) => joinedSeat(result).userId).sort());
    expect(await b.store.removeNode(deadNode)).toEqual({ seats: [], owners: [] });
    expect((await b.store.seats([room.channelId])).get(room.channelId)).toEqual([]);
  });
});
