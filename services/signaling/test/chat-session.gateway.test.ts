import { ChatSession, ParleySocket } from '@parley/client';
import type { ChatMessage } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { eventually, registerUser } from './support/users.ts';

let node: TestNode;
const closers: Array<() => void> = [];

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', RATE_LIMIT_CHAT_SEND: '3/2s', RATE_LIMIT_CHAT_RESUME: '1000/10s' });
});
afterAll(async () => {
  for (const close of closers) close();
  await node.stop();
});

async function channelWithReader() {
  const writer = await registerUser(node.url);
  const reader = await registerUser(node.url);
  const server = await writer.http.createServer({ name: 'sdk' });
  await addMember(node.database, server.id, reader.session.id);
  const channelId = server.channels[0]!.id;
  const writerSocket = await ParleySocket.connect({ url: node.url, token: writer.session.token });
  const readerSocket = await ParleySocket.connect({ url: node.url, token: reader.session.token });
  const writerSession = new ChatSession(writerSocket);
  const readerSession = new ChatSession(readerSocket);
  closers.push(() => writerSocket.close(), () => readerSocket.close(), () => writerSession.close(), () => readerSession.close());
  // As an app does once it has loaded the channel's (empty) history: it follows the channel from seq 0.
  // Broadcasts of concurrent sends may arrive out of seq order; a followed channel holds the later ones
  // until the gap is filled, where an unfollowed one has to guess where its sequence starts.
  readerSession.track(channelId, 0);
  const delivered: ChatMessage[] = [];
  readerSession.onMessage((message) => delivered.push(message));
  return { channelId, writerSession, readerSocket, readerSession, delivered };
}

describe('ChatSession (client SDK)', () => {
  it('replays what was missed while disconnected as soon as it reconnects, with no later message to reveal the gap', async () => {
    const { channelId, writerSession, readerSocket, readerSession, delivered } = await channelWithReader();
    await writerSession.send({ conversationId: channelId, text: 'before' });
    await eventually(() => delivered.length === 1, 5000, 'the first message arrived');

    const reconnected = new Promise<void>((resolve) => readerSocket.socket.io.once('reconnect', () => resolve()));
    readerSocket.socket.io.engine.close();
    await writerSession.send({ conversationId: channelId, text: 'while away 1' });
    await writerSession.send({ conversationId: channelId, text: 'while away 2' });
    await reconnected;
    await eventually(() => readerSession.lastSeq(channelId) === 3, 5000, 'the reader caught up');
    expect(delivered.map((message) => [message.seq, message.text])).toEqual([
      [1, 'before'],
      [2, 'while away 1'],
      [3, 'while away 2'],
    ]);
  });

  it('retries a rate-limited send with the same nonce after retryAfterMs: every message stored once', async () => {
    const { channelId, writerSession, delivered } = await channelWithReader();
    const sent = await Promise.all(Array.from({ length: 5 }, (_, i) => writerSession.send({ conversationId: channelId, text: `burst ${i}` })));
    expect(new Set(sent.map((message) => message.seq))).toEqual(new Set([1, 2, 3, 4, 5]));
    await eventually(() => delivered.length === 5, 5000, 'the reader got all five');
    expect(delivered.map((message) => message.seq)).toEqual([1, 2, 3, 4, 5]);
    const rows = await node.database.db.selectFrom('messages').select('text').where('channel_id', '=', channelId).execute();
    expect(rows.map((row) => row.text).sort()).toEqual(['burst 0', 'burst 1', 'burst 2', 'burst 3', 'burst 4']);
  });

  it('calls the resync listeners when a channel missed more than the server replays', async () => {
    const { channelId, readerSession } = await channelWithReader();
    await node.database.db.updateTable('channels').set({ last_seq: 600 }).where('id', '=', channelId).execute();
    const resync = new Promise<string>((resolve) => readerSession.onResync(resolve));
    await readerSession.resume();
    expect(await resync).toBe(channelId);
    expect(readerSession.lastSeq(channelId)).toBe(600);
  });
});
