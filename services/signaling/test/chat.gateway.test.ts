import type { ParleyError, ParleySocket } from '@parley/client';
import type { ChatMessage } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { collectMessages, connect, emitUntyped, nextEvent, registerUser, type TestUser } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', RATE_LIMIT_CHAT_SEND: '1000/10s', SOCKET_MAX_PAYLOAD_BYTES: '65536' });
});
afterAll(() => node.stop());

describe('chat', () => {
  let alice: TestUser;
  let bob: TestUser;
  let channelId: string;

  beforeAll(async () => {
    alice = await registerUser(node.url);
    bob = await registerUser(node.url);
    const server = await alice.http.createServer({ name: 'chat' });
    channelId = server.channels[0]!.id;
    // Bob is added as a member directly: joining is a later feature of the API.
    await addMember(node.database, server.id, bob.session.id);
  });

  it('acknowledges after commit and delivers to the channel and the sender’s other devices, not the sending socket', async () => {
    const sender = await connect(node.url, alice, { clientInstanceId: 'alice-phone' });
    const aliceDesktop = await connect(node.url, alice, { clientInstanceId: 'alice-desktop' });
    const bobSocket = await connect(node.url, bob);
    const seenBySender = collectMessages(sender);

    const onDesktop = nextEvent(aliceDesktop, 'chat:new');
    const onBob = nextEvent(bobSocket, 'chat:new');
    const { message } = await sender.request('chat:send', { conversationId: channelId, text: 'hello', nonce: 'n-1' });

    expect(message).toMatchObject({
      conversationId: channelId,
      text: 'hello',
      nonce: 'n-1',
      author: { id: alice.session.id, username: alice.session.username },
    });
    const stored = await node.database.db.selectFrom('messages').selectAll().where('id', '=', message.id).executeTakeFirst();
    expect(stored?.text).toBe('hello');
    expect(await onDesktop).toEqual(message);
    expect(await onBob).toEqual(message);

    // A later message from Bob reaches the sender; Alice's own message, sent earlier from the same pod, did not.
    const marker = nextEvent(sender, 'chat:new');
    await bobSocket.request('chat:send', { conversationId: channelId, text: 'marker' });
    expect((await marker).text).toBe('marker');
    expect(seenBySender.map((received) => received.text)).toEqual(['marker']);

    for (const socket of [sender, aliceDesktop, bobSocket]) socket.close();
  });

  it('a repeated nonce returns the first message and writes no second row', async () => {
    const socket = await connect(node.url, alice);
    const first = await socket.request('chat:send', { conversationId: channelId, text: 'once', nonce: 'retry-me' });
    const before = await rowCounts(node.database);
    const again = await socket.request('chat:send', { conversationId: channelId, text: 'once (retried)', nonce: 'retry-me' });
    expect(again.message).toEqual(first.message);
    expect(await rowCounts(node.database)).toEqual(before);
    socket.close();
  });

  it('chat:fetch returns history oldest first, pages by seq, and clamps the limit', async () => {
    const { channels } = await alice.http.createServer({ name: 'history' });
    const historyId = channels[0]!.id;
    const socket = await connect(node.url, alice);
    const sent: ChatMessage[] = [];
    for (let i = 1; i <= 5; i++) {
      sent.push((await socket.request('chat:send', { conversationId: historyId, text: `m${i}` })).message);
    }
    expect(sent.map((message) => message.seq)).toEqual([1, 2, 3, 4, 5]);

    const latest = await socket.request('chat:fetch', { conversationId: historyId, limit: 2 });
    expect(latest.items.map((message) => message.text)).toEqual(['m4', 'm5']);
    expect(latest.hasMore).toBe(true);
    const older = await socket.request('chat:fetch', { conversationId: historyId, limit: 2, before: latest.items[0]!.seq });
    expect(older.items.map((message) => message.text)).toEqual(['m2', 'm3']);
    const byTime = await socket.request('chat:fetch', { conversationId: historyId, before: sent[2]!.createdAt });
    expect(byTime.items.map((message) => message.text)).toEqual(['m1', 'm2']);
    const all = await socket.request('chat:fetch', { conversationId: historyId, limit: 1000 });
    expect(all).toEqual({ items: sent, hasMore: false });

    expect(await alice.http.fetchMessages(historyId, { limit: 2, before: 3 })).toEqual({ items: sent.slice(0, 2), hasMore: false });
    socket.close();
  });

  it('handles an event sent without an acknowledgement, as older seed clients do', async () => {
    const socket = await connect(node.url, alice);
    const listener = await connect(node.url, bob);
    const received = nextEvent(listener, 'chat:new');
    emitUntyped(socket, 'chat:send', { conversationId: channelId, text: 'fire and forget' });
    expect((await received).text).toBe('fire and forget');
    socket.close();
    listener.close();
  });

  describe('bad input: an error ack, the socket stays usable, nothing is written', () => {
    let outsider: TestUser;
    beforeAll(async () => {
      outsider = await registerUser(node.url);
    });

    const cases: Array<[string, () => unknown, string]> = [
      ['no payload', () => undefined, 'invalid_payload'],
      ['a string payload', () => 'hello', 'invalid_payload'],
      ['an array payload', () => [channelId, 'hi'], 'invalid_payload'],
      ['a missing text', () => ({ conversationId: channelId }), 'invalid_payload'],
      ['a numeric text', () => ({ conversationId: channelId, text: 42 }), 'invalid_payload'],
      ['an object as text', () => ({ conversationId: channelId, text: { $gt: '' } }), 'invalid_payload'],
      ['a text over the cap', () => ({ conversationId: channelId, text: 'x'.repeat(4001) }), 'invalid_payload'],
      ['a malformed channel id', () => ({ conversationId: "'; drop table messages;--", text: 'hi' }), 'invalid_payload'],
      ['an unknown channel', () => ({ conversationId: '00000000-0000-4000-8000-000000000000', text: 'hi' }), 'channel_not_found'],
    ];

    it.each(cases)('chat:send with %s', async (_label, payload, code) => {
      const socket = await connect(node.url, alice);
      const before = await rowCounts(node.database);
      const ack = await socket.socket.timeout(5000).emitWithAck('chat:send', payload() as never);
      expect(ack).toMatchObject({ ok: false, error: { code, message: expect.any(String) } });
      expect(await rowCounts(node.database)).toEqual(before);
      expect(socket.connected).toBe(true);
      socket.close();
    });

    it('chat:send and chat:fetch from a non-member', async () => {
      const socket = await connect(node.url, outsider);
      const before = await rowCounts(node.database);
      await expect(socket.request('chat:send', { conversationId: channelId, text: 'let me in' })).rejects.toMatchObject({
        code: 'not_a_member',
      });
      await expect(socket.request('chat:fetch', { conversationId: channelId })).rejects.toMatchObject({ code: 'not_a_member' });
      expect(await rowCounts(node.database)).toEqual(before);
      socket.close();
    });

    it('a frame over SOCKET_MAX_PAYLOAD_BYTES closes that connection only; the node keeps serving', async () => {
      const socket = await connect(node.url, alice);
      const before = await rowCounts(node.database);
      const closed = new Promise<string>((resolve) => socket.socket.once('disconnect', resolve));
      emitUntyped(socket, 'chat:send', { conversationId: channelId, text: 'x'.repeat(100_000) });
      expect(await closed).toMatch(/transport (close|error)/);
      expect(await rowCounts(node.database)).toEqual(before);

      const fresh = await connect(node.url, alice);
      await expect(fresh.request('chat:send', { conversationId: channelId, text: 'still here' })).resolves.toBeDefined();
      fresh.close();
    });
  });
});

describe('rate limits', () => {
  it('chat:send is limited per user across connections, with retryAfterMs', async () => {
    const limited = await startTestNode({ RATE_LIMIT_CHAT_SEND: '3/10s' });
    try {
      const user = await registerUser(limited.url);
      const { channels } = await user.http.createServer({ name: 'rl' });
      const [first, second] = await Promise.all([connect(limited.url, user), connect(limited.url, user)]);
      const send = (socket: ParleySocket, i: number) =>
        socket.request('chat:send', { conversationId: channels[0]!.id, text: `m${i}` }).then(
          () => 'ok',
          (error: ParleyError) => `${error.code}:${error.retryAfterMs! > 0}`,
        );
      const outcomes = await Promise.all([0, 1, 2, 3, 4].map((i) => send(i % 2 ? first! : second!, i)));
      expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(3);
      expect(outcomes.filter((outcome) => outcome === 'rate_limited:true')).toHaveLength(2);
      expect(await rowCounts(limited.database)).toMatchObject({ messages: 3 });
      first!.close();
      second!.close();
    } finally {
      await limited.stop();
    }
  });
});
