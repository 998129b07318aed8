import { ChatSession, ParleySocket } from '@parley/client';
import type { ChatMessage } from '@parley/protocol';
import { TcpBalancer } from '@parley/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { TestCluster } from './support/test-cluster.ts';
import { eventually, registerUser, type TestUser } from './support/users.ts';

const CLIENTS = 6;
const SEND_FOR_MS = 5000;
const SEND_EVERY_MS = 80;
const KILLED_POD = 1;

let cluster: TestCluster;
let balancer: TcpBalancer;

beforeAll(async () => {
  cluster = await TestCluster.start({
    RATE_LIMIT_CHAT_SEND: '100000/10s',
    RATE_LIMIT_CHAT_RESUME: '100000/10s',
    RATE_LIMIT_AUTH: '100000/1m',
  });
  balancer = await TcpBalancer.start(() => cluster.cluster.pods.map((pod) => ({ host: '127.0.0.1', port: pod.port })));
});
afterAll(async () => {
  await balancer?.stop();
  await cluster?.stop();
});

interface Client {
  user: TestUser;
  socket: ParleySocket;
  session: ChatSession;
  delivered: ChatMessage[];
  acknowledged: ChatMessage[];
  failures: unknown[];
  disconnects: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('loses no acknowledged message and duplicates none when a pod is SIGKILLed mid-stream and restarted', async () => {
  const owner = await registerUser(cluster.url(0));
  const server = await owner.http.createServer({ name: 'fault' });
  const channelId = server.channels[0]!.id;
  const users = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => registerUser(cluster.url(i % 3))));
  const database = await cluster.database.open();
  for (const user of users) await addMember(database, server.id, user.session.id);

  // Through the balancer: two clients per pod, and a killed pod's clients reconnect to the others.
  const clients: Client[] = [];
  for (const user of users) {
    const socket = await ParleySocket.connect({ url: balancer.url, token: user.session.token, ackTimeoutMs: 3000 });
    const session = new ChatSession(socket, { retry: { attempts: 20, baseDelayMs: 100, maxDelayMs: 1000 } });
    session.track(channelId, 0);
    const client: Client = { user, socket, session, delivered: [], acknowledged: [], failures: [], disconnects: 0 };
    session.onMessage((message) => client.delivered.push(message));
    socket.socket.on('disconnect', () => client.disconnects++);
    clients.push(client);
  }

  const sending = clients.map(async (client, index) => {
    const stopAt = Date.now() + SEND_FOR_MS;
    for (let i = 0; Date.now() < stopAt; i++) {
      try {
        client.acknowledged.push(await client.session.send({ conversationId: channelId, text: `client ${index} message ${i}` }));
      } catch (error) {
        client.failures.push(error);
      }
      await sleep(SEND_EVERY_MS);
    }
  });
  await sleep(SEND_FOR_MS / 3);
  await cluster.cluster.kill(KILLED_POD, 'SIGKILL');
  await sleep(SEND_FOR_MS / 4);
  await cluster.cluster.restart(KILLED_POD);
  await Promise.all(sending);

  const { last_seq: lastSeq } = await database.db
    .selectFrom('channels')
    .select('last_seq')
    .where('id', '=', channelId)
    .executeTakeFirstOrThrow();
  await eventually(() => clients.every((client) => client.session.lastSeq(channelId) === lastSeq), 20_000, 'every client caught up');

  const stored = await database.db
    .selectFrom('messages')
    .select(['id', 'seq', 'text'])
    .where('channel_id', '=', channelId)
    .orderBy('seq')
    .execute();
  await database.close();
  const acknowledged = clients.flatMap((client) => client.acknowledged);
  expect(clients.map((client) => client.failures)).toEqual(clients.map(() => []));
  expect(clients.filter((client) => client.disconnects > 0).length).toBeGreaterThanOrEqual(1);
  expect(acknowledged.length).toBeGreaterThan(CLIENTS * 10);
  // Every stored message has its own seq, without gaps; no retry stored a second copy.
  expect(stored.map((row) => row.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
  expect(new Set(acknowledged.map((message) => message.id)).size).toBe(acknowledged.length);
  expect(new Set(stored.map((row) => row.text)).size).toBe(stored.length);

  const storedIds = stored.map((row) => row.id);
  for (const client of clients) {
    // Exactly once, in seq order, with no gap: the whole stored stream.
    expect(client.delivered.map((message) => message.seq)).toEqual(stored.map((row) => row.seq));
    expect(client.delivered.map((message) => message.id)).toEqual(storedIds);
  }
  const everyAcknowledgedId = new Set(acknowledged.map((message) => message.id));
  for (const id of everyAcknowledgedId) expect(storedIds).toContain(id);

  for (const client of clients) {
    client.session.close();
    client.socket.close();
  }
});
