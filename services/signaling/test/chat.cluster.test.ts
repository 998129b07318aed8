import type { ParleySocket } from '@parley/client';
import type { ChatMessage } from '@parley/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { TestCluster } from './support/test-cluster.ts';
import { collectMessages, nextEvent, registerUser, type TestUser } from './support/users.ts';

const A = 0;
const B = 1;
const C = 2;

let cluster: TestCluster;

function connectTo(pod: number, user: TestUser, clientInstanceId?: string): Promise<ParleySocket> {
  return cluster.connect(pod, user, { clientInstanceId });
}

beforeAll(async () => {
  cluster = await TestCluster.start();
});
afterEach(() => cluster.closeSockets());
afterAll(() => cluster?.stop());

describe('a 3-pod cluster', () => {
  it('runs three pods with their own node ids, all ready', async () => {
    const health = await Promise.all(
      cluster.cluster.pods.map(async (pod) => (await (await fetch(`${pod.url}/health`)).json()) as { nodeId: string }),
    );
    expect(health.map((entry) => entry.nodeId)).toEqual(['pod-1', 'pod-2', 'pod-3']);
    for (const pod of cluster.cluster.pods) {
      expect(await (await fetch(`${pod.url}/ready`)).json()).toMatchObject({ checks: { database: 'ok', redis: 'ok' } });
    }
  });

  it('delivers a message sent on pod A to members on pods B and C and to the sender’s second device, not the sending socket', async () => {
    const alice = await registerUser(cluster.url(A));
    const bob = await registerUser(cluster.url(B));
    const carol = await registerUser(cluster.url(C));
    const server = await alice.http.createServer({ name: 'three pods' });
    const channelId = server.channels[0]!.id;
    // Joining has its own cluster tests (communities.cluster.test.ts); membership is all this one needs.
    const database = await cluster.database.open();
    for (const user of [bob, carol]) await addMember(database, server.id, user.session.id);
    await database.close();

    const aliceOnA = await connectTo(A, alice, 'alice-laptop');
    const aliceOnC = await connectTo(C, alice, 'alice-phone');
    const bobOnB = await connectTo(B, bob);
    const carolOnC = await connectTo(C, carol);
    const seenByAliceOnA = collectMessages(aliceOnA);

    const arrivals = [aliceOnC, bobOnB, carolOnC].map((socket) => nextEvent(socket, 'chat:new'));
    const { message } = await aliceOnA.request('chat:send', { conversationId: channelId, text: 'hello from A', nonce: 'a-1' });
    expect(message).toMatchObject({ seq: 1, text: 'hello from A', author: { id: alice.session.id } });
    for (const received of await Promise.all(arrivals)) expect(received).toEqual(message);

    // A second message, from Bob on pod B, reaches Alice's socket on A; the first one never did.
    const marker = nextEvent(aliceOnA, 'chat:new');
    await bobOnB.request('chat:send', { conversationId: channelId, text: 'hi from B' });
    expect((await marker).text).toBe('hi from B');
    expect(seenByAliceOnA.map((received) => received.text)).toEqual(['hi from B']);

    // History on every pod shows each message once, in order.
    for (const [pod, user] of [[A, alice], [B, bob], [C, carol]] as const) {
      const socket = await connectTo(pod, user);
      const history = await socket.request('chat:fetch', { conversationId: channelId });
      expect(history.items.map((item: ChatMessage) => [item.seq, item.text])).toEqual([
        [1, 'hello from A'],
        [2, 'hi from B'],
      ]);
    }
  });

  it('a retried nonce on another pod returns the first message, not a second row', async () => {
    const dave = await registerUser(cluster.url(A));
    const { channels } = await dave.http.createServer({ name: 'retries' });
    const channelId = channels[0]!.id;
    const onA = await connectTo(A, dave);
    const onB = await connectTo(B, dave);

    const [first, second] = await Promise.all([
      onA.request('chat:send', { conversationId: channelId, text: 'only once', nonce: 'retry-1' }),
      onB.request('chat:send', { conversationId: channelId, text: 'only once', nonce: 'retry-1' }),
    ]);
    expect(second.message).toEqual(first.message);
    const history = await onA.request('chat:fetch', { conversationId: channelId });
    expect(history.items).toHaveLength(1);
  });

  it('puts the creator’s sockets on every pod into a community created through another pod', async () => {
    const erin = await registerUser(cluster.url(B));
    const erinOnA = await connectTo(A, erin, 'erin-a');
    const erinOnC = await connectTo(C, erin, 'erin-c');

    const { channels } = await erin.http.createServer({ name: 'made on B' });
    const arrival = nextEvent(erinOnC, 'chat:new');
    const { message } = await erinOnA.request('chat:send', { conversationId: channels[0]!.id, text: 'new room' });
    expect(await arrival).toEqual(message);
  });

  it('survives a pod being killed: its clients reconnect elsewhere, and it can be restarted', async () => {
    const frank = await registerUser(cluster.url(A));
    const { channels } = await frank.http.createServer({ name: 'failover' });
    const channelId = channels[0]!.id;
    const onB = await connectTo(B, frank, 'frank-b');
    const sender = await connectTo(A, frank, 'frank-a');

    const lost = new Promise<string>((resolve) => onB.socket.once('disconnect', resolve));
    await cluster.cluster.kill(B);
    expect(await lost).toBe('transport close');
    expect(cluster.cluster.pod(B).running).toBe(false);

    const movedToC = await connectTo(C, frank, 'frank-b');
    const arrival = nextEvent(movedToC, 'chat:new');
    await sender.request('chat:send', { conversationId: channelId, text: 'after the crash' });
    expect((await arrival).text).toBe('after the crash');

    await cluster.cluster.restart(B);
    const backOnB = await connectTo(B, frank, 'frank-b2');
    const history = await backOnB.request('chat:fetch', { conversationId: channelId });
    expect(history.items.map((item: ChatMessage) => item.text)).toEqual(['after the crash']);
  });
});
