import http from 'node:http';
import type { ParleySocket } from '@parley/client';
import type { AckResponse } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { emitUntyped, eventually, OpenSockets, registerUser, type TestUser } from './support/users.ts';

let admissionNode: TestNode;
let node: TestNode;
const sockets = new OpenSockets();

beforeAll(async () => {
  [admissionNode, node] = await Promise.all([
    startTestNode({
      RATE_LIMIT_AUTH: '1000/1m',
      CORS_ALLOWLIST: 'https://app.example',
      // Each test speaks from its own address through a trusted proxy header.
      TRUST_PROXY_HOPS: '1',
      RATE_LIMIT_HANDSHAKE: '4/1m',
      MAX_UNAUTHENTICATED_PER_IP: '2',
    }),
    startTestNode({
      RATE_LIMIT_AUTH: '1000/1m',
      RATE_LIMIT_CHAT_SEND: '1000/10s',
      RATE_LIMIT_CHAT_REACT: '1000/1m',
      RATE_LIMIT_SERVER_READ: '3/1m',
      RATE_LIMIT_SERVER_LEAVE: '1/1m',
      RATE_LIMIT_SOCKET_EVENTS: '25/1m',
      SOCKET_MAX_IN_FLIGHT: '2',
    }),
  ]);
});
afterAll(async () => {
  sockets.closeAll();
  await Promise.all([admissionNode.stop(), node.stop()]);
});

let nextAddress = 1;
const freshAddress = () => `203.0.113.${nextAddress++}`;

/** A raw Engine.IO long-polling handshake: an unauthenticated connection that stays open until it times out or closes. */
async function pollingHandshake(from: string, origin?: string) {
  const response = await fetch(`${admissionNode.url}/socket.io/?EIO=4&transport=polling`, {
    headers: { 'X-Forwarded-For': from, ...(origin ? { Origin: origin } : {}) },
  });
  const text = await response.text();
  const sid = response.ok ? (JSON.parse(text.slice(1)) as { sid: string }).sid : undefined;
  return { status: response.status, retryAfter: response.headers.get('retry-after'), text, sid };
}

/** Closes a long-polling Engine.IO connection (its close packet). */
async function closePolling(sid: string, from: string): Promise<void> {
  await fetch(`${admissionNode.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
    method: 'POST',
    body: '1',
    headers: { 'X-Forwarded-For': from, 'Content-Type': 'text/plain' },
  });
}

/** A raw WebSocket upgrade request: resolves with the HTTP status and body of a refusal, or 101. */
function upgrade(headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${admissionNode.url}/socket.io/?EIO=4&transport=websocket`, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': Buffer.from('0123456789abcdef').toString('base64'),
        ...headers,
      },
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, body: '' });
    });
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('admission: who may start a connection, decided before any database work', () => {
  it('refuses a WebSocket upgrade from a foreign Origin with 403 origin_not_allowed', async () => {
    const refused = await upgrade({ Origin: 'https://evil.example', 'X-Forwarded-For': freshAddress() });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'origin_not_allowed' } });
    expect((await upgrade({ Origin: 'https://app.example', 'X-Forwarded-For': freshAddress() })).status).toBe(101);
  });

  it('limits handshakes per client address with 429 rate_limited and Retry-After; other addresses are unaffected', async () => {
    const from = freshAddress();
    const attempts = [];
    for (let i = 0; i < 5; i++) {
      const attempt = await pollingHandshake(from);
      attempts.push(attempt);
      if (attempt.sid) await closePolling(attempt.sid, from);
    }
    expect(attempts.map((attempt) => attempt.status)).toEqual([200, 200, 200, 200, 429]);
    expect(JSON.parse(attempts[4]!.text)).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(attempts[4]!.retryAfter)).toBeGreaterThan(0);
    const upgradeRefused = await upgrade({ 'X-Forwarded-For': from });
    expect(upgradeRefused.status).toBe(429);
    expect((await pollingHandshake(freshAddress())).status).toBe(200);
  });

  it('caps connections that have not authenticated yet per address, and admits again once one closes', async () => {
    const from = freshAddress();
    const first = await pollingHandshake(from);
    const second = await pollingHandshake(from);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await pollingHandshake(from);
    expect(third.status).toBe(429);
    expect(JSON.parse(third.text)).toMatchObject({ error: { code: 'rate_limited' } });

    // The close is handled asynchronously by the pod: the next handshake is admitted once it was.
    await closePolling(first.sid!, from);
    await eventually(async () => (await pollingHandshake(from)).status === 200, 5000, 'a handshake admitted again');
  });

  it('closes an Engine.IO connection that keeps trying to authenticate', async () => {
    // Raw Engine.IO over WebSocket: Socket.IO CONNECT packets sent again and again on one connection.
    const socket = new WebSocket(`${admissionNode.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const replies: string[] = [];
    const closed = new Promise<void>((resolve) => socket.addEventListener('close', () => resolve()));
    socket.addEventListener('message', (event) => {
      const data = String(event.data);
      if (data.startsWith('0') || data.startsWith('44')) {
        if (data.startsWith('44')) replies.push((JSON.parse(data.slice(2)) as { data?: { code: string } }).data?.code ?? data);
        socket.send(`40${JSON.stringify({ token: 'f'.repeat(64), clientInstanceId: 'brute' })}`);
      }
    });
    await closed;
    expect(replies).toEqual(['auth_error', 'auth_error', 'auth_error', 'rate_limited']);
  });
});

describe('connection budget', () => {
  let user: TestUser;
  let serverId: string;
  beforeAll(async () => {
    user = await registerUser(node.url);
    serverId = (await user.http.createServer({ name: 'budget' })).id;
  });

  const rawRequest = (socket: ParleySocket, event: string, payload: unknown) =>
    (socket.socket.timeout(10_000).emitWithAck as (event: string, payload: unknown) => Promise<AckResponse>)(event, payload);

  it('answers rate_limited once a connection has too many events in flight, and all of them are answered', async () => {
    const socket = await sockets.connect(node.url, await registerUser(node.url));
    const replies = await Promise.all(Array.from({ length: 12 }, () => rawRequest(socket, 'chat:fetch', { conversationId: crypto.randomUUID() })));
    const busy = replies.filter((reply) => !reply.ok && reply.error.message === 'Too many requests in flight on this connection');
    expect(busy.length).toBeGreaterThan(0);
    expect(replies.every((reply) => !reply.ok && ['rate_limited', 'channel_not_found'].includes(reply.error.code))).toBe(true);
  });

  it('answers rate_limited past the connection’s event rate, counting unknown events too, without touching the shared limiters', async () => {
    const socket = await sockets.connect(node.url, await registerUser(node.url));
    for (let i = 0; i < 20; i++) emitUntyped(socket, 'no:such:event', { i });
    const replies = [];
    for (let i = 0; i < 8; i++) replies.push(await rawRequest(socket, 'presence:update', { status: 'online' }));
    expect(replies.slice(0, 5).every((reply) => reply.ok)).toBe(true);
    expect(replies.slice(5)).toEqual(
      Array(3).fill({ ok: false, error: { code: 'rate_limited', message: 'Too many events on this connection', retryAfterMs: expect.any(Number) } }),
    );
  });

  it('rate-limits server:details and server:info together, and server:leave', async () => {
    const socket = await sockets.connect(node.url, user);
    const replies = [];
    for (const event of ['server:details', 'server:info', 'server:details', 'server:info']) replies.push(await rawRequest(socket, event, { serverId }));
    expect(replies.map((reply) => (reply.ok ? 'ok' : reply.error.code))).toEqual(['ok', 'ok', 'ok', 'rate_limited']);
    const member = await registerUser(node.url);
    await addMember(node.database, serverId, member.session.id);
    const memberSocket = await sockets.connect(node.url, member);
    const leaves = [await rawRequest(memberSocket, 'server:leave', { serverId }), await rawRequest(memberSocket, 'server:leave', { serverId })];
    expect(leaves.map((reply) => (reply.ok ? 'ok' : reply.error.code))).toEqual(['ok', 'rate_limited']);
  });
});

describe('payloads: bounded, plain, clean text', () => {
  let owner: TestUser;
  let channelId: string;
  let ownerSocket: ParleySocket;
  beforeAll(async () => {
    owner = await registerUser(node.url);
    channelId = (await owner.http.createServer({ name: 'payloads' })).channels[0]!.id;
  });

  const request = async (event: string, payload: unknown) => {
    ownerSocket = await sockets.connect(node.url, owner);
    return (ownerSocket.socket.timeout(10_000).emitWithAck as (event: string, payload: unknown) => Promise<AckResponse>)(event, payload);
  };

  const nested = (depth: number) => {
    let value: unknown = 'leaf';
    for (let i = 0; i < depth; i++) value = [value];
    return value;
  };

  it.each([
    ['account_sync nested 4,000 arrays deep', 'account_sync', () => ({ payload: { type: 'friend-added', data: nested(4000) } })],
    ['account_sync nested past its 16 levels', 'account_sync', () => ({ payload: { type: 'friend-added', data: nested(16) } })],
    ['account_sync carrying binary data', 'account_sync', () => ({ payload: { type: 'friend-added', data: Buffer.from('bytes') } })],
    ['NUL in chat text', 'chat:send', () => ({ conversationId: channelId, text: 'a\u0000b' })],
    ['a lone surrogate in chat text', 'chat:send', () => ({ conversationId: channelId, text: 'a\ud800' })],
    ['a lone surrogate in a nonce', 'chat:send', () => ({ conversationId: channelId, text: 'hi', nonce: 'n\udfff' })],
    ['NUL in a nonce', 'chat:send', () => ({ conversationId: channelId, text: 'hi', nonce: 'n\u0000' })],
    ['a __proto__ key', 'chat:send', () => JSON.parse(`{"conversationId":"${channelId}","text":"hi","__proto__":{"admin":true}}`) as unknown],
  ])('refuses %s with invalid_payload and writes nothing', async (_label, event, payload) => {
    const before = await rowCounts(node.database);
    const reply = await request(event, payload());
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    expect(await rowCounts(node.database)).toEqual(before);
  });

  it('keeps two nonces apart that differ only in a lone surrogate: both are refused, none collides', async () => {
    const first = await request('chat:send', { conversationId: channelId, text: 'first', nonce: 'k\ud800' });
    const second = await request('chat:send', { conversationId: channelId, text: 'second', nonce: 'k\ud801' });
    expect([first, second]).toMatchObject([{ ok: false, error: { code: 'invalid_payload' } }, { ok: false, error: { code: 'invalid_payload' } }]);
  });

  it('accepts reactions that are emoji or :name:, and refuses anything else', async () => {
    const sent = await request('chat:send', { conversationId: channelId, text: 'react to me' });
    const messageId = (sent as unknown as { message: { id: string } }).message.id;
    const react = (emoji: string) => request('chat:react', { conversationId: channelId, messageId, emoji });
    for (const emoji of ['👍', '👍🏽', '👨‍👩‍👧', '🇫🇷', '❤️', '1️⃣', ':party_parrot:']) {
      expect((await react(emoji)).ok, emoji).toBe(true);
    }
    for (const emoji of ['../../../../etc/passwd', 'abc', '<script>', '👍 👍', ':a b:', '\u202e', 'x'.repeat(64)]) {
      expect(await react(emoji), emoji).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    }
  });
});
