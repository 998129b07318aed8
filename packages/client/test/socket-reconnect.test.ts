import type { ErrorPayload } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatSession, ParleySocket, type ConnectionState, type ParleySocketOptions } from '../src/index.ts';
import { GateProxy } from './support/gate-proxy.ts';
import { TestServer } from './support/test-server.ts';
import { until } from './support/until.ts';

const CHANNEL = '00000000-0000-4000-8000-000000000001';

let server: TestServer;
const cleanups: Array<() => void | Promise<void>> = [];

beforeEach(async () => {
  server = await TestServer.start();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await server.stop();
});

async function connect(options: Partial<ParleySocketOptions> = {}) {
  const socket = await ParleySocket.connect({ url: server.url, token: 'token', ...options });
  const states: ConnectionState[] = [];
  socket.onStateChange((state) => states.push(state));
  const session = new ChatSession(socket);
  cleanups.push(() => session.close(), () => socket.close());
  return { socket, states, session };
}

/** Resolves with the next state of `status` (the current one when it already is). */
function reaches(socket: ParleySocket, status: ConnectionState['status']): Promise<ConnectionState> {
  if (socket.state.status === status) return Promise.resolve(socket.state);
  return new Promise((resolve) => {
    const unsubscribe = socket.onStateChange((state) => {
      if (state.status !== status) return;
      unsubscribe();
      resolve(state);
    });
  });
}

/** A promise and the function that resolves it. */
function latch(): { released: Promise<void>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { released, release };
}

const refusal = (code: ErrorPayload['code'], retryAfterMs?: number): ErrorPayload => ({
  code,
  message: `refused: ${code}`,
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});

/** The states as short strings, e.g. `reconnecting:unavailable:2`. */
const summary = (states: ConnectionState[]) =>
  states.map((state) =>
    state.status === 'reconnecting'
      ? `reconnecting:${state.error.code}:${state.attempt}`
      : state.status === 'disconnected'
        ? `disconnected:${state.reason}:${state.error.code}`
        : state.status,
  );

describe('ParleySocket.connect (the first connect)', () => {
  it('rejects with the server’s code on a refusal, retryable or not, without retrying', async () => {
    server.handshake = () => refusal('unavailable', 100);
    await expect(ParleySocket.connect({ url: server.url, token: 'token' })).rejects.toMatchObject({ code: 'unavailable', retryAfterMs: 100 });
    server.handshake = () => refusal('auth_error');
    await expect(ParleySocket.connect({ url: server.url, token: 'token' })).rejects.toMatchObject({ code: 'auth_error' });
    expect(server.handshakes).toBe(2);
  });

  it('rejects with network_error when nothing answers', async () => {
    const proxy = await GateProxy.start(1);
    cleanups.push(() => proxy.stop());
    proxy.shut();
    await expect(ParleySocket.connect({ url: proxy.url, token: 'token' })).rejects.toMatchObject({ code: 'network_error' });
  });
});

describe('ParleySocket reconnects', () => {
  it('comes back by itself through refusals with unavailable, and a send issued while away settles with its ack', async () => {
    const { socket, states, session } = await connect();
    const refusals = 2;
    const firstReconnect = latch();
    server.handshake = async (attempt) => {
      // Hold the first reconnect until the send below has been issued while away.
      if (attempt === 2) await firstReconnect.released;
      return attempt <= 1 + refusals ? refusal('unavailable', 50) : undefined;
    };
    server.dropConnections();
    await reaches(socket, 'reconnecting');
    expect(socket.connected).toBe(false);
    const sending = session.send({ conversationId: CHANNEL, text: 'while away' });
    firstReconnect.release();

    expect(await sending).toMatchObject({ seq: 1, text: 'while away' });
    expect(socket.state).toEqual({ status: 'connected' });
    expect(server.handshakes).toBe(1 + refusals + 1);
    expect(summary(states)).toEqual([
      'reconnecting:disconnected:1',
      'reconnecting:unavailable:2',
      'reconnecting:unavailable:3',
      'connected',
    ]);
  });

  it('never tries again sooner than the retryAfterMs of a refusal', async () => {
    const { socket, states } = await connect();
    const retryAfterMs = 1000;
    let waiting = false;
    let tooSoon = 0;
    server.handshake = (attempt) => {
      if (waiting) tooSoon++;
      if (attempt > 3) return undefined;
      waiting = true;
      // Armed before the client even hears of the refusal: it fires first unless the client retries too soon.
      setTimeout(() => (waiting = false), retryAfterMs);
      return refusal('rate_limited', retryAfterMs);
    };
    server.dropConnections();
    await reaches(socket, 'reconnecting');
    await reaches(socket, 'connected');

    expect(tooSoon).toBe(0);
    expect(server.handshakes).toBe(4);
    expect(summary(states)).toEqual(['reconnecting:disconnected:1', 'reconnecting:rate_limited:2', 'reconnecting:rate_limited:3', 'connected']);
    for (const state of states) if (state.status === 'reconnecting' && state.error.code === 'rate_limited') expect(state.delayMs).toBeGreaterThanOrEqual(retryAfterMs);
  });

  it('retries transport failures through socket.io-client’s Manager, one attempt per announced retry', async () => {
    const proxy = await GateProxy.start(Number(new URL(server.url).port));
    cleanups.push(() => proxy.stop());
    const { socket, states } = await connect({ url: proxy.url });
    const failures = new Promise<void>((resolve) =>
      socket.onStateChange((state) => {
        if (state.status === 'reconnecting' && state.attempt === 3) resolve();
      }),
    );
    proxy.shut();
    await failures;
    proxy.open = true;
    await reaches(socket, 'connected');

    const announced = states.filter((state) => state.status === 'reconnecting' && state.error.code === 'network_error');
    expect(announced.length).toBeGreaterThanOrEqual(2);
    expect(proxy.refused).toBe(announced.length);
    expect(summary(states).at(0)).toBe('reconnecting:disconnected:1');
    expect(summary(states).at(-1)).toBe('connected');
  });
});

describe('ParleySocket gives up for good', () => {
  it('on a reconnect refused with auth_error: disconnected, and pending work rejects with that error', async () => {
    const { socket, states, session } = await connect();
    const firstReconnect = latch();
    server.handshake = async () => {
      await firstReconnect.released;
      return refusal('auth_error');
    };
    server.dropConnections();
    await reaches(socket, 'reconnecting');
    const sending = session.send({ conversationId: CHANNEL, text: 'never sent' });
    const requesting = socket.request('chat:resume', { channels: {} });
    const waiting = socket.whenConnected();
    firstReconnect.release();

    await expect(sending).rejects.toMatchObject({ code: 'auth_error' });
    await expect(requesting).rejects.toMatchObject({ code: 'auth_error' });
    await expect(waiting).rejects.toMatchObject({ code: 'auth_error' });
    await expect(socket.request('chat:resume', { channels: {} })).rejects.toMatchObject({ code: 'auth_error' });
    expect(summary(states)).toEqual(['reconnecting:disconnected:1', 'disconnected:refused:auth_error']);
    // socket.io-client's socket is destroyed: nothing will reconnect it.
    expect(socket.socket.active).toBe(false);
    expect(server.sends).toEqual([]);
  });

  it('on close(): in-flight requests and sends reject with closed', async () => {
    const { socket, states, session } = await connect();
    server.onSend = () => {};
    const sending = session.send({ conversationId: CHANNEL, text: 'unanswered' });
    const requesting = socket.request('chat:send', { conversationId: CHANNEL, text: 'unanswered too' });
    await until(() => server.sends.length === 2, 'both reached the server (in flight, not buffered)');
    socket.close();

    await expect(sending).rejects.toMatchObject({ code: 'closed' });
    await expect(requesting).rejects.toMatchObject({ code: 'closed' });
    await expect(socket.whenConnected()).rejects.toMatchObject({ code: 'closed' });
    expect(summary(states)).toEqual(['disconnected:closed:closed']);
  });

  it('on close() while reconnecting: a send waiting for the connection rejects with closed', async () => {
    const { socket, session } = await connect();
    server.handshake = () => refusal('unavailable', 100);
    server.dropConnections();
    await reaches(socket, 'reconnecting');
    const sending = session.send({ conversationId: CHANNEL, text: 'while away' });
    socket.close();
    await expect(sending).rejects.toMatchObject({ code: 'closed' });
    expect(socket.state).toMatchObject({ status: 'disconnected', reason: 'closed' });
  });

  it('when the server ends the session: session_ended, with the reason it gave', async () => {
    const { socket, session } = await connect();
    server.onSend = () => {};
    const sending = session.send({ conversationId: CHANNEL, text: 'unanswered' });
    const [serverSide] = server.sockets();
    serverSide!.emit('session:ended', { reason: 'logout' });
    serverSide!.disconnect(true);

    const state = await reaches(socket, 'disconnected');
    expect(state).toMatchObject({ reason: 'ended', error: { code: 'session_ended' } });
    expect(state.status === 'disconnected' && state.error.message).toContain('logout');
    await expect(sending).rejects.toMatchObject({ code: 'session_ended' });
  });

  it('when the connection drops with reconnection: false', async () => {
    const { states, session } = await connect({ reconnection: false });
    server.onSend = () => {};
    const sending = session.send({ conversationId: CHANNEL, text: 'unanswered' });
    server.dropConnections();
    await expect(sending).rejects.toMatchObject({ code: 'disconnected' });
    expect(summary(states)).toEqual(['disconnected:lost:disconnected']);
    expect(server.handshakes).toBe(1);
  });
});
