import type { ChatMessage, ChatSendResult, AckResponse } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatSession, ParleySocket, type ChatSessionOptions, type ParleySocketOptions } from '../src/index.ts';
import { TestServer } from './support/test-server.ts';
import { until } from './support/until.ts';

const CHANNEL = '00000000-0000-4000-8000-000000000002';

let server: TestServer;
const cleanups: Array<() => void> = [];

beforeEach(async () => {
  server = await TestServer.start();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  await server.stop();
});

async function open(sessionOptions: ChatSessionOptions = {}, socketOptions: Partial<ParleySocketOptions> = {}) {
  const socket = await ParleySocket.connect({ url: server.url, token: 'token', ...socketOptions });
  const session = new ChatSession(socket, sessionOptions);
  const delivered: ChatMessage[] = [];
  session.onMessage((message) => delivered.push(message));
  cleanups.push(() => session.close(), () => socket.close());
  return { socket, session, delivered };
}

describe('ChatSession.send', () => {
  it('retries with the same nonce until stored: one message', async () => {
    const { session } = await open({ retry: { baseDelayMs: 10 } });
    let refusals = 2;
    server.onSend = (payload, ack) =>
      refusals-- > 0
        ? ack({ ok: false, error: { code: 'unavailable', message: 'database paused', retryAfterMs: 10 } })
        : ack({ ok: true, message: server.store(payload) });

    const message = await session.send({ conversationId: CHANNEL, text: 'hello' });
    expect(message).toMatchObject({ seq: 1, text: 'hello' });
    expect(server.sends).toHaveLength(3);
    expect(new Set(server.sends.map((send) => send.nonce))).toEqual(new Set([message.nonce]));
  });

  it('rejects with timeout at its deadline while the server does not answer', async () => {
    const { session } = await open({ sendTimeoutMs: 300 }, { ackTimeoutMs: 60_000 });
    server.onSend = () => {};
    await expect(session.send({ conversationId: CHANNEL, text: 'unanswered' })).rejects.toMatchObject({ code: 'timeout' });
    expect(server.sends).toHaveLength(1);
  });

  it('rejects with timeout at its deadline while waiting for a reconnect that does not come', async () => {
    const { socket, session } = await open({ sendTimeoutMs: 500 });
    server.handshake = () => ({ code: 'unavailable', message: 'pod full', retryAfterMs: 100 });
    const away = new Promise<void>((resolve) => socket.onStateChange((state) => state.status === 'reconnecting' && resolve()));
    server.dropConnections();
    await away;

    await expect(session.send({ conversationId: CHANNEL, text: 'while away' })).rejects.toMatchObject({ code: 'timeout' });
    expect(socket.state.status).toBe('reconnecting');
    expect(server.sends).toEqual([]);
  });

  it('rejects with closed when the session is closed, and sends nothing afterwards', async () => {
    const { session } = await open();
    server.onSend = () => {};
    const sending = session.send({ conversationId: CHANNEL, text: 'unanswered' });
    await until(() => server.sends.length === 1, 'the send reached the server');
    session.close();
    await expect(sending).rejects.toMatchObject({ code: 'closed' });
    await expect(session.send({ conversationId: CHANNEL, text: 'after close' })).rejects.toMatchObject({ code: 'closed' });
    expect(server.sends).toHaveLength(1);
  });
});

describe('ChatSession delivery in a channel it does not track', () => {
  it('delivers concurrent sends acknowledged out of seq order, in seq order', async () => {
    const { session, delivered } = await open();
    const acks: Array<() => void> = [];
    server.onSend = (payload, ack: (response: AckResponse<ChatSendResult>) => void) => {
      const message = server.store(payload);
      acks.push(() => ack({ ok: true, message }));
      // Acknowledge the second before the first, as two pods committing concurrently may.
      if (acks.length === 2) for (const acknowledge of acks.reverse()) acknowledge();
    };

    const sent = await Promise.all([
      session.send({ conversationId: CHANNEL, text: 'first' }),
      session.send({ conversationId: CHANNEL, text: 'second' }),
    ]);
    expect(sent.map((message) => message.seq)).toEqual([1, 2]);
    expect(delivered.map((message) => [message.seq, message.text])).toEqual([
      [1, 'first'],
      [2, 'second'],
    ]);
    expect(session.lastSeq(CHANNEL)).toBe(2);
  });

  it('delivers a lower seq arriving within the grace first, then the one seen first', async () => {
    const { socket, delivered } = await open({ gapGraceMs: 60_000 });
    const [serverSide] = server.sockets();
    const messages = [1, 2, 3].map((n) => server.store({ conversationId: CHANNEL, text: `m${n}`, nonce: `n${n}` }));
    serverSide!.emit('chat:new', messages[2]!);
    serverSide!.emit('chat:new', messages[1]!);
    // A round trip: both arrived, and neither was delivered while a lower seq may still come.
    await socket.request('chat:resume', { channels: {} });
    expect(delivered).toEqual([]);
    serverSide!.emit('chat:new', messages[0]!);
    await until(() => delivered.length === 3, 'the channel started at seq 1');
    expect(delivered.map((message) => message.seq)).toEqual([1, 2, 3]);
  });

  it('starts at the lowest seq seen within the grace; an older one arriving later is history, not delivered', async () => {
    const { socket, session, delivered } = await open({ gapGraceMs: 50 });
    const [serverSide] = server.sockets();
    const messages = [1, 2, 3].map((n) => server.store({ conversationId: CHANNEL, text: `m${n}`, nonce: `n${n}` }));
    serverSide!.emit('chat:new', messages[2]!);
    await until(() => delivered.length === 1, 'the grace passed and the channel started');
    serverSide!.emit('chat:new', messages[1]!);
    await socket.request('chat:resume', { channels: {} });
    expect(delivered.map((message) => message.seq)).toEqual([3]);
    expect(session.lastSeq(CHANNEL)).toBe(3);
  });

  it('starts at once where track() says, delivering what it held from there', async () => {
    const { socket, session, delivered } = await open({ gapGraceMs: 60_000 });
    const [serverSide] = server.sockets();
    const messages = [1, 2, 3, 4].map((n) => server.store({ conversationId: CHANNEL, text: `m${n}`, nonce: `n${n}` }));
    serverSide!.emit('chat:new', messages[3]!);
    serverSide!.emit('chat:new', messages[2]!);
    await socket.request('chat:resume', { channels: {} });
    expect(delivered).toEqual([]);
    session.track(CHANNEL, 2);
    expect(delivered.map((message) => message.seq)).toEqual([3, 4]);
    expect(session.lastSeq(CHANNEL)).toBe(4);
  });
});
