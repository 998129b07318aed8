import { ParleyHttpClient, type ParleyError, type ParleySocket } from '@parley/client';
import type { AccountSyncMessage } from '@parley/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken, newSessionToken } from '../src/domain/accounts/session-token.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { connect, eventually, nextEvent, registerUser, TEST_PASSWORD, type TestUser } from './support/users.ts';

let node: TestNode;
const sockets: ParleySocket[] = [];

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', RATE_LIMIT_ACCOUNT_SYNC: '20/10s' });
});
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});
afterAll(() => node.stop());

async function open(user: TestUser, clientInstanceId: string, connectionScope?: string): Promise<ParleySocket> {
  const socket = await connect(node.url, user, { clientInstanceId, ...(connectionScope ? { connectionScope } : {}) });
  sockets.push(socket);
  return socket;
}

/** A session written straight into the table, expiring at `expiresAt`. */
async function sessionExpiringAt(user: TestUser, expiresAt: Date): Promise<TestUser> {
  const token = newSessionToken();
  await node.database.db
    .insertInto('sessions')
    .values({ user_id: user.session.id, token_hash: hashSessionToken(token), expires_at: expiresAt })
    .execute();
  return { ...user, session: { ...user.session, token, expiresAt: expiresAt.getTime() } };
}

function refusal(user: TestUser): Promise<ParleyError> {
  return connect(node.url, user).then(
    (socket) => {
      socket.close();
      throw new Error('the connection was accepted');
    },
    (error: ParleyError) => error,
  );
}

function collect<T>(socket: ParleySocket, event: 'account_sync' | 'account_sync_peer_online'): T[] {
  const received: T[] = [];
  socket.on(event, ((payload: T) => received.push(payload)) as never);
  return received;
}

describe('handshake attacks', () => {
  it('refuses an expired session token', async () => {
    const user = await registerUser(node.url);
    const expired = await sessionExpiringAt(user, new Date(Date.now() - 1000));
    expect((await refusal(expired)).code).toBe('auth_error');
  });

  it('refuses a revoked session token', async () => {
    const user = await registerUser(node.url);
    const token = user.session.token;
    await user.http.logout();
    expect((await refusal({ ...user, session: { ...user.session, token } })).code).toBe('auth_error');
  });

  it('refuses the token of a deleted user', async () => {
    const user = await registerUser(node.url);
    await node.database.db.deleteFrom('users').where('id', '=', user.session.id).execute();
    expect((await refusal(user)).code).toBe('auth_error');
  });

  it('closes a connection when its token expires, saying so first', async () => {
    const user = await sessionExpiringAt(await registerUser(node.url), new Date(Date.now() + 1500));
    const socket = await open(user, 'short-lived');
    const ended = nextEvent(socket, 'session:ended', 5000);
    const closed = new Promise<string>((resolve) => socket.socket.once('disconnect', resolve));
    expect(await ended).toEqual({ reason: 'expired' });
    expect(await closed).toBe('io server disconnect');
  });
});

describe('account_sync', () => {
  it('reaches every other connection of the same user, stamped by the server, and never another user', async () => {
    const alice = await registerUser(node.url);
    const mallory = await registerUser(node.url);
    const laptop = await open(alice, 'alice-laptop');
    const phone = await open(alice, 'alice-phone');
    const tablet = await open(alice, 'alice-tablet');
    const malloryTab = await open(mallory, 'mallory-tab');
    const onLaptop = collect<AccountSyncMessage>(laptop, 'account_sync');
    const onMallory = collect<AccountSyncMessage>(malloryTab, 'account_sync');

    const onPhone = nextEvent(phone, 'account_sync');
    const onTablet = nextEvent(tablet, 'account_sync');
    const payload = { type: 'saved-room-sync' as const, room: { id: 'r1', name: 'Room' } };
    await laptop.request('account_sync', { clientInstanceId: 'forged-instance', payload });

    const expected = { clientInstanceId: 'alice-laptop', payload, fromUserId: alice.session.id };
    expect(await onPhone).toEqual(expected);
    expect(await onTablet).toEqual(expected);

    // Mallory's own sync reaches only Mallory: a marker proves Alice's sync would have arrived by now.
    await malloryTab.request('account_sync', { payload: { type: 'friend-added', friendId: 'x' } });
    const marker = nextEvent(phone, 'account_sync');
    await tablet.request('account_sync', { payload: { type: 'friend-removed', friendId: 'y' } });
    await marker;
    expect(onMallory).toEqual([]);
    expect(onLaptop.map((message) => message.payload.type)).toEqual(['friend-removed']);
  });

  const badPayloads: Array<[string, unknown]> = [
    ['no payload', undefined],
    ['a string', 'saved-room-sync'],
    ['an unknown type', { payload: { type: 'delete-everything' } }],
    ['a type of the wrong kind', { payload: { type: 7 } }],
    ['no type', { payload: { room: {} } }],
    ['a payload over 64 KiB', { payload: { type: 'user-avatar-chunk', data: 'x'.repeat(65 * 1024) } }],
  ];

  it.each(badPayloads)('refuses %s with invalid_payload and relays nothing', async (_label, body) => {
    const user = await registerUser(node.url);
    const sender = await open(user, 'sender');
    const receiver = await open(user, 'receiver');
    const received = collect<AccountSyncMessage>(receiver, 'account_sync');

    const ack = await sender.socket.timeout(5000).emitWithAck('account_sync', body as never);
    expect(ack).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    const marker = nextEvent(receiver, 'account_sync');
    await sender.request('account_sync', { payload: { type: 'saved-room-remove', roomId: 'r' } });
    await marker;
    expect(received.map((message) => message.payload.type)).toEqual(['saved-room-remove']);
  });

  it('is rate limited per user across connections, with retryAfterMs', async () => {
    const user = await registerUser(node.url);
    const [first, second] = [await open(user, 'rl-1'), await open(user, 'rl-2')];
    const outcomes = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (i % 2 ? first : second).request('account_sync', { payload: { type: 'friend-added', n: i } }).then(
          () => 'ok',
          (error: ParleyError) => `${error.code}:${(error.retryAfterMs ?? 0) > 0}`,
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(20);
    expect(outcomes.filter((outcome) => outcome === 'rate_limited:true')).toHaveLength(4);
  });
});

describe('multi-device connections', () => {
  it('tells the user’s other connections when a device comes online', async () => {
    const user = await registerUser(node.url);
    const first = await open(user, 'first-device');
    const online = nextEvent(first, 'account_sync_peer_online');
    await open(user, 'second-device');
    expect(await online).toEqual({ clientInstanceId: 'second-device', fromUserId: user.session.id });
  });

  it('closes the older connection of the same (user, scope, instance) and leaves the others alone', async () => {
    const user = await registerUser(node.url);
    const stale = await open(user, 'tab-1', 'ws://parley.example');
    const otherScope = await open(user, 'tab-1', 'ws://other.example');
    const otherDevice = await open(user, 'tab-2', 'ws://parley.example');
    const ended = nextEvent(stale, 'session:ended');
    const closed = new Promise<string>((resolve) => stale.socket.once('disconnect', resolve));

    const fresh = await open(user, 'tab-1', 'ws://parley.example');
    expect(await ended).toEqual({ reason: 'replaced' });
    expect(await closed).toBe('io server disconnect');
    expect(fresh.connected).toBe(true);
    // The survivors still talk to each other.
    const onOther = nextEvent(otherDevice, 'account_sync');
    await otherScope.request('account_sync', { payload: { type: 'friend-added', friendId: 'z' } });
    await onOther;
    expect(otherScope.connected && otherDevice.connected).toBe(true);
  });

  it('logout ends the connections of that session only', async () => {
    const user = await registerUser(node.url);
    const otherSession = await new ParleyHttpClient(node.url).login({ username: user.session.username, password: TEST_PASSWORD });
    const second: TestUser = { session: otherSession, http: new ParleyHttpClient(node.url, otherSession.token) };
    const loggedOut = await open(user, 'a');
    const kept = await connect(node.url, second, { clientInstanceId: 'b' });
    sockets.push(kept);
    const ended = nextEvent(loggedOut, 'session:ended');

    await user.http.logout();
    expect(await ended).toEqual({ reason: 'logout' });
    await eventually(() => !loggedOut.connected, 2000, 'the logged-out socket closed');
    expect(kept.connected).toBe(true);
  });
});
