import { Redis } from 'ioredis';
import { redisUrl } from '@parley/testkit/vitest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestCluster } from './support/test-cluster.ts';
import { eventually, failureOf, nextEvent, registerUser } from './support/users.ts';

// Payloads relayed between pods must never take a pod down: a deeply nested account_sync
// once overflowed the stack of the Redis adapter's decoder on every pod holding the user's sockets.
let cluster: TestCluster;
let redis: Redis;

beforeAll(async () => {
  cluster = await TestCluster.start({ RATE_LIMIT_AUTH: '1000/1m' });
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

const nested = (depth: number) => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

it('refuses a deeply nested account_sync from a user with devices on every pod; every pod lives and relays the next one', async () => {
  const user = await registerUser(cluster.url(0));
  const [onA, onB, onC] = await Promise.all([0, 1, 2].map((pod) => cluster.connect(pod, user)));
  const refusal = await failureOf(onA!.request('account_sync', { payload: { type: 'friend-added', data: nested(4000) } as never }));
  expect(refusal.code).toBe('invalid_payload');

  const arrivals = [onB!, onC!].map((socket) => nextEvent(socket, 'account_sync'));
  await onA!.request('account_sync', { payload: { type: 'friend-added', friendId: 'f1' } });
  expect((await Promise.all(arrivals)).map((message) => message.payload)).toEqual([
    { type: 'friend-added', friendId: 'f1' },
    { type: 'friend-added', friendId: 'f1' },
  ]);
  expect(cluster.cluster.pods.every((pod) => pod.running)).toBe(true);
});

it('drops an inter-pod message its decoder cannot take, logs it, and keeps serving', async () => {
  const user = await registerUser(cluster.url(0));
  const [onA, onB] = await Promise.all([0, 1].map((pod) => cluster.connect(pod, user)));
  // MessagePack: 200,000 nested one-element arrays, far past any decoder's stack.
  const poison = Buffer.concat([Buffer.alloc(200_000, 0x91), Buffer.from([0xc0])]);
  const channel = `${cluster.cluster.redisKeyPrefix}socket.io#/#`;
  expect(await redis.publish(channel, poison)).toBe(3);
  await redis.publish(`${cluster.cluster.redisKeyPrefix}socket.io-request#/#`, poison);

  await eventually(
    () => cluster.cluster.pods.every((pod) => pod.logs().some((line) => String(line.msg).includes('could not be handled'))),
    10_000,
    'every pod logged the dropped message',
  );
  expect(cluster.cluster.pods.every((pod) => pod.running)).toBe(true);
  for (const pod of cluster.cluster.pods) {
    expect(pod.logs().filter((line) => Number(line.level) >= 50)).toEqual([]);
  }
  const arrival = nextEvent(onB!, 'account_sync');
  await onA!.request('account_sync', { payload: { type: 'friend-removed', friendId: 'f2' } });
  expect((await arrival).payload).toEqual({ type: 'friend-removed', friendId: 'f2' });
});
