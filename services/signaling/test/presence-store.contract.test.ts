import { randomUUID } from 'node:crypto';
import type { ConnectionStatus } from '@parley/protocol';
import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryPresenceStore } from '../src/adapters/memory/presence-store.ts';
import { RedisPresenceStore } from '../src/adapters/redis/presence-store.ts';
import { NodeIncarnation } from '../src/cluster/node-identity.ts';
import type { NodeIdentity } from '../src/cluster/node-registry.ts';
import type { PresenceChange, PresenceStore } from '../src/domain/presence/presence.store.ts';

const namespace = createRedisNamespace();
const connections: Redis[] = [];
afterAll(async () => {
  await namespace.cleanup();
  for (const redis of connections) redis.disconnect();
});

interface Pod {
  store: PresenceStore;
  identity: NodeIdentity;
}

/**
 * Stores sharing one state, each standing for a pod. Redis: each pod has its
 * own connection and identity. Memory: one process, so the pods are one store
 * with one identity (a test that needs two nodes renews it in between).
 */
type Cluster = (pods: number) => Pod[];

const memoryCluster: Cluster = (pods) => {
  const identity = new NodeIncarnation('embedded');
  const store = new MemoryPresenceStore(identity);
  return Array.from({ length: pods }, () => ({ store, identity }));
};

const redisCluster: Cluster = (pods) => {
  const keyPrefix = `${namespace.prefix}${randomUUID()}:`;
  return Array.from({ length: pods }, (_, i) => {
    const redis = new Redis(redisUrl());
    connections.push(redis);
    const identity = new NodeIncarnation(`pod-${i}`);
    return { store: new RedisPresenceStore({ redis, keyPrefix, identity }), identity };
  });
};

const byUser = (a: PresenceChange, b: PresenceChange) => (a.userId < b.userId ? -1 : 1);

describe.each<[string, Cluster]>([
  ['memory (embedded)', memoryCluster],
  ['redis (cluster)', redisCluster],
])('presence store: %s', (_name, cluster) => {
  it('aggregates a user’s connections (dnd > online > idle > offline) and reports each transition once', async () => {
    const [{ store }] = cluster(1) as [Pod];
    const user = randomUUID();
    const status = async () => (await store.statuses([user])).get(user);

    expect(await store.set(user, 'c1', 'idle')).toEqual({ userId: user, previous: 'offline', status: 'idle' });
    expect(await status()).toBe('idle');
    expect(await store.set(user, 'c2', 'online')).toEqual({ userId: user, previous: 'idle', status: 'online' });
    expect(await store.set(user, 'c3', 'dnd')).toEqual({ userId: user, previous: 'online', status: 'dnd' });
    expect(await store.set(user, 'c1', 'online')).toBeNull();
    expect(await store.set(user, 'c3', 'dnd')).toBeNull();
    expect(await status()).toBe('dnd');
    expect(await store.remove(user, 'c3')).toEqual({ userId: user, previous: 'dnd', status: 'online' });
    expect(await store.set(user, 'c2', 'idle')).toBeNull();
    expect(await store.remove(user, 'c1')).toEqual({ userId: user, previous: 'online', status: 'idle' });
    expect(await status()).toBe('idle');
    expect(await store.remove(user, 'c2')).toEqual({ userId: user, previous: 'idle', status: 'offline' });
    expect(await status()).toBe('offline');
    expect(await store.remove(user, 'c2')).toBeNull();
  });

  it('reports exactly one offline → online when two pods record 20 connections of one user at once', async () => {
    const pods = cluster(2);
    const user = randomUUID();
    const changes = await Promise.all(Array.from({ length: 20 }, (_, i) => pods[i % 2]!.store.set(user, `c${i}`, 'online')));
    expect(changes.filter((change) => change !== null)).toEqual([{ userId: user, previous: 'offline', status: 'online' }]);
    expect((await pods[1]!.store.statuses([user])).get(user)).toBe('online');

    const removals = await Promise.all(Array.from({ length: 20 }, (_, i) => pods[(i + 1) % 2]!.store.remove(user, `c${i}`)));
    expect(removals.filter((change) => change?.status === 'offline')).toHaveLength(1);
    expect((await pods[0]!.store.statuses([user])).get(user)).toBe('offline');
  });

  it('goes offline when the last connection is removed, by whichever pod removes it', async () => {
    const [a, b] = cluster(2) as [Pod, Pod];
    const user = randomUUID();
    await a.store.set(user, 'on-a', 'online');
    await b.store.set(user, 'on-b', 'dnd');
    expect(await a.store.remove(user, 'on-b')).toEqual({ userId: user, previous: 'dnd', status: 'online' });
    expect(await b.store.remove(user, 'on-a')).toEqual({ userId: user, previous: 'online', status: 'offline' });
    expect((await a.store.statuses([user])).get(user)).toBe('offline');
  });

  it('answers offline for users it has never seen, and nothing for no users', async () => {
    const [{ store }] = cluster(1) as [Pod];
    const [known, unknown] = [randomUUID(), randomUUID()];
    await store.set(known, 'c1', 'dnd');
    expect(await store.statuses([unknown, known])).toEqual(
      new Map([
        [unknown, 'offline'],
        [known, 'dnd'],
      ]),
    );
    expect(await store.statuses([])).toEqual(new Map());
  });

  it('removes a node’s connections, reporting each affected user once, and nothing the second time', async () => {
    const [a, b] = cluster(2) as [Pod, Pod];
    const [alone, mixed, elsewhere] = [randomUUID(), randomUUID(), randomUUID()];
    const set = (pod: Pod, user: string, connection: string, status: ConnectionStatus) => pod.store.set(user, connection, status);
    await set(a, alone, 'a1', 'online');
    await set(a, alone, 'a2', 'dnd');
    await set(a, mixed, 'a3', 'dnd');
    await set(a, mixed, 'a4', 'idle');
    const deadNode = a.identity.current;
    a.identity.renew(); // the memory store's pods share one identity: what follows is another node
    await set(b, mixed, 'b1', 'online');
    await set(b, elsewhere, 'b2', 'idle');

    const changes = await b.store.removeNode(deadNode);
    const expected: PresenceChange[] = [
      { userId: alone, previous: 'dnd', status: 'offline' },
      { userId: mixed, previous: 'dnd', status: 'online' },
    ];
    expect(changes.sort(byUser)).toEqual(expected.sort(byUser));
    expect(await b.store.removeNode(deadNode)).toEqual([]);
    expect(await a.store.statuses([alone, mixed, elsewhere])).toEqual(
      new Map([
        [alone, 'offline'],
        [mixed, 'online'],
        [elsewhere, 'idle'],
      ]),
    );
    // The connections left are still counted, and still go.
    expect(await b.store.remove(mixed, 'b1')).toEqual({ userId: mixed, previous: 'online', status: 'offline' });
  });

  it('reports each user of a large node once, with all their connections on it gone', async () => {
    const [a, b] = cluster(2) as [Pod, Pod];
    // 600 connections: more than one script's batch, so some users' pairs are split between batches.
    const users = Array.from({ length: 300 }, () => randomUUID());
    await Promise.all(users.flatMap((user) => [a.store.set(user, `${user}-dnd`, 'dnd'), a.store.set(user, `${user}-online`, 'online')]));
    const deadNode = a.identity.current;
    a.identity.renew(); // the memory store's pods share one identity: what follows is another node
    await b.store.set(users[0]!, 'elsewhere', 'idle');

    const changes = await b.store.removeNode(deadNode);
    expect(changes).toHaveLength(300);
    expect(new Set(changes.map((change) => change.userId)).size).toBe(300);
    expect(changes.find((change) => change.userId === users[0])).toEqual({ userId: users[0], previous: 'dnd', status: 'idle' });
    expect(changes.filter((change) => change.previous === 'dnd' && change.status === 'offline')).toHaveLength(299);
    expect(await b.store.removeNode(deadNode)).toEqual([]);
  });

  it('keeps a connection recorded again under a new incarnation when the old one is removed', async () => {
    const [{ store, identity }] = cluster(1) as [Pod];
    const user = randomUUID();
    await store.set(user, 'c1', 'online');
    const old = identity.current;
    identity.renew();
    expect(await store.set(user, 'c1', 'online')).toBeNull();
    expect(await store.removeNode(old)).toEqual([]);
    expect((await store.statuses([user])).get(user)).toBe('online');
    expect(await store.removeNode(identity.current)).toEqual([{ userId: user, previous: 'online', status: 'offline' }]);
  });
});
