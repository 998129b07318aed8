import { ParleyHttpClient, type ParleySocket } from '@parley/client';
import type { AccountSyncMessage } from '@parley/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from './support/test-cluster.ts';
import { eventually, nextEvent, registerUser, TEST_PASSWORD, type TestUser } from './support/users.ts';

const A = 0;
const B = 1;
const C = 2;

let cluster: TestCluster;

function connectTo(pod: number, user: TestUser, clientInstanceId: string, connectionScope?: string): Promise<ParleySocket> {
  return cluster.connect(pod, user, { clientInstanceId, connectionScope });
}

function collectSyncs(socket: ParleySocket): AccountSyncMessage[] {
  const received: AccountSyncMessage[] = [];
  socket.on('account_sync', (message) => received.push(message));
  return received;
}

function closed(socket: ParleySocket): Promise<string> {
  return new Promise((resolve) => socket.socket.once('disconnect', resolve));
}

beforeAll(async () => {
  cluster = await TestCluster.start({ RATE_LIMIT_AUTH: '1000/1m' });
});
afterEach(() => cluster.closeSockets());
afterAll(() => cluster?.stop());

describe('one user, devices on three pods', () => {
  it('account_sync from pod A reaches the devices on B and C, not A’s sender, and never another user', async () => {
    const alice = await registerUser(cluster.url(A));
    const bob = await registerUser(cluster.url(B));
    const onA = await connectTo(A, alice, 'alice-a');
    const onB = await connectTo(B, alice, 'alice-b');
    const onC = await connectTo(C, alice, 'alice-c');
    const bobOnA = await connectTo(A, bob, 'bob-a');
    const bobOnC = await connectTo(C, bob, 'bob-c');
    const seenOnA = collectSyncs(onA);
    const seenByBob = [collectSyncs(bobOnA), collectSyncs(bobOnC)];

    const arrivals = [onB, onC].map((socket) => nextEvent(socket, 'account_sync'));
    const payload = { type: 'custom-emoji-full' as const, emoji: [{ name: 'parrot', id: 'e1' }] };
    await onA.request('account_sync', { clientInstanceId: 'alice-a', payload });
    for (const received of await Promise.all(arrivals)) {
      expect(received).toEqual({ clientInstanceId: 'alice-a', payload, fromUserId: alice.session.id });
    }

    // A marker sent from C comes back to A: by then A's own sync would have arrived if it were echoed.
    const marker = nextEvent(onA, 'account_sync');
    await onC.request('account_sync', { payload: { type: 'friend-added', friendId: 'f1' } });
    await marker;
    expect(seenOnA.map((message) => message.clientInstanceId)).toEqual(['alice-c']);
    expect(seenByBob).toEqual([[], []]);
  });

  it('a fourth device tells the other three, on every pod, that it is online', async () => {
    const carol = await registerUser(cluster.url(A));
    const devices = [await connectTo(A, carol, 'carol-a'), await connectTo(B, carol, 'carol-b'), await connectTo(C, carol, 'carol-c')];
    // Each device also hears about the ones that connected after it; only the newcomer matters here.
    const notices = devices.map((socket) => {
      const seen: Array<{ clientInstanceId: string; fromUserId: string }> = [];
      socket.on('account_sync_peer_online', (peer) => seen.push(peer));
      return seen;
    });

    await connectTo(B, carol, 'carol-new');
    const newcomer = { clientInstanceId: 'carol-new', fromUserId: carol.session.id };
    await eventually(
      () => notices.every((seen) => seen.some((peer) => peer.clientInstanceId === 'carol-new')),
      5000,
      'every other device heard of carol-new',
    );
    for (const seen of notices) expect(seen.filter((peer) => peer.clientInstanceId === 'carol-new')).toEqual([newcomer]);
  });

  it('re-identifying with the same tuple on pod B closes the old socket on pod A; other devices stay', async () => {
    const dave = await registerUser(cluster.url(A));
    const scope = 'wss://parley.example';
    const stale = await connectTo(A, dave, 'dave-tab', scope);
    const otherDevice = await connectTo(C, dave, 'dave-phone', scope);
    const ended = nextEvent(stale, 'session:ended');
    const staleClosed = closed(stale);

    const fresh = await connectTo(B, dave, 'dave-tab', scope);
    expect(await ended).toEqual({ reason: 'replaced' });
    expect(await staleClosed).toBe('io server disconnect');

    const arrival = nextEvent(otherDevice, 'account_sync');
    await fresh.request('account_sync', { payload: { type: 'saved-room-sync', room: { id: 'r' } } });
    expect((await arrival).clientInstanceId).toBe('dave-tab');
    expect(fresh.connected && otherDevice.connected).toBe(true);
  });

  it('logout of one session closes its sockets on every pod; the other session stays', async () => {
    const erin = await registerUser(cluster.url(A));
    const otherSession = await new ParleyHttpClient(cluster.url(B)).login({ username: erin.session.username, password: TEST_PASSWORD });
    const erinElsewhere: TestUser = { session: otherSession, http: new ParleyHttpClient(cluster.url(B), otherSession.token) };
    const ending = [await connectTo(A, erin, 'erin-a'), await connectTo(B, erin, 'erin-b'), await connectTo(C, erin, 'erin-c')];
    const staying = [await connectTo(A, erinElsewhere, 'erin-2a'), await connectTo(C, erinElsewhere, 'erin-2c')];
    const notices = ending.map((socket) => nextEvent(socket, 'session:ended'));

    await erin.http.logout();
    // The deadline leaves room for three pods on a loaded 2-core machine (docs/protocol.md aims at a second);
    // nothing but the revocation closes these sockets (no timer re-checks a session), however long it took.
    await eventually(() => ending.every((socket) => !socket.connected), 5000, 'every socket of the session closed');
    for (const notice of await Promise.all(notices)) expect(notice).toEqual({ reason: 'logout' });
    expect(staying.every((socket) => socket.connected)).toBe(true);
    await expect(erinElsewhere.http.me()).resolves.toMatchObject({ id: erin.session.id });
  });

  it('a password change that revokes other sessions closes them on every pod', async () => {
    const frank = await registerUser(cluster.url(C));
    const otherSession = await new ParleyHttpClient(cluster.url(A)).login({ username: frank.session.username, password: TEST_PASSWORD });
    const other: TestUser = { session: otherSession, http: new ParleyHttpClient(cluster.url(A), otherSession.token) };
    const revoked = [await connectTo(A, other, 'frank-old-a'), await connectTo(B, other, 'frank-old-b')];
    const current = await connectTo(C, frank, 'frank-current');

    await frank.http.updateMe({ currentPassword: TEST_PASSWORD, newPassword: 'a fresh password', revokeOtherSessions: true });
    await eventually(() => revoked.every((socket) => !socket.connected), 5000, 'the other session’s sockets closed');
    expect(current.connected).toBe(true);
  });
});
