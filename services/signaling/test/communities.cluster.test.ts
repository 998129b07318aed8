import type { ParleySocket } from '@parley/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from './support/test-cluster.ts';
import { collectMessages, nextEvent, registerUser, type TestUser } from './support/users.ts';

const A = 0;
const B = 1;
const C = 2;

let cluster: TestCluster;

beforeAll(async () => {
  // Three wrong invite codes lock a user out; the per-IP limit (all tests share 127.0.0.1) stays out of the way.
  cluster = await TestCluster.start({ SERVER_INVITE_MAX_RETRIES: '3', SERVER_INVITE_IP_MAX_RETRIES: '1000' });
});
afterEach(() => cluster.closeSockets());
afterAll(() => cluster?.stop());

async function openCommunity(owner: TestUser, name: string) {
  const server = await owner.http.createServer({ name });
  await owner.http.request('PUT', `/api/servers/${server.id}`, { joinPolicy: 'open' });
  return { serverId: server.id, channelId: server.channels[0]!.id };
}

/** Resolves once `socket` has received a `chat:new` with this text. */
function receives(socket: ParleySocket, text: string): Promise<void> {
  return new Promise((resolve) => {
    const off = socket.on('chat:new', (message) => {
      if (message.text === text) {
        off();
        resolve();
      }
    });
  });
}

describe('communities across 3 pods', () => {
  it('a join through pod A puts the user’s sockets on pods B and C into the community’s rooms', async () => {
    const owner = await registerUser(cluster.url(A));
    const { serverId, channelId } = await openCommunity(owner, 'joined everywhere');
    const user = await registerUser(cluster.url(B));
    const onA = await cluster.connect(A, user);
    const onB = await cluster.connect(B, user);
    const onC = await cluster.connect(C, user);
    await onA.request('server:join', { serverId });

    const arrivals = [onA, onB, onC].map((socket) => receives(socket, 'hello all'));
    const ownerOnC = await cluster.connect(C, owner);
    await ownerOnC.request('chat:send', { conversationId: channelId, text: 'hello all' });
    await Promise.all(arrivals);
  });

  it('a ban issued through pod A takes the user’s sockets on B and C out of the rooms: no further messages reach them', async () => {
    const owner = await registerUser(cluster.url(A));
    const { serverId, channelId } = await openCommunity(owner, 'ban across pods');
    const banned = await registerUser(cluster.url(B));
    const witness = await registerUser(cluster.url(C));
    const bannedOnB = await cluster.connect(B, banned);
    const bannedOnC = await cluster.connect(C, banned);
    const witnessOnC = await cluster.connect(C, witness);
    await bannedOnB.request('server:join', { serverId });
    await witnessOnC.request('server:join', { serverId });
    const ownerOnA = await cluster.connect(A, owner);

    const removed = [bannedOnB, bannedOnC].map((socket) => nextEvent(socket, 'server:removed'));
    await owner.http.request('POST', `/api/servers/${serverId}/bans`, { userId: banned.session.id, reason: 'spam' });
    for (const event of await Promise.all(removed)) expect(event).toEqual({ serverId, reason: 'banned' });

    // Messages from every pod reach the witness, none the banned user's sockets.
    const seenByBanned = [...collectMessages(bannedOnB), ...collectMessages(bannedOnC)];
    const senders = [ownerOnA, await cluster.connect(B, owner), await cluster.connect(C, owner)];
    for (const [index, sender] of senders.entries()) {
      const arrival = receives(witnessOnC, `after the ban ${index}`);
      await sender.request('chat:send', { conversationId: channelId, text: `after the ban ${index}` });
      await arrival;
    }
    expect(seenByBanned).toEqual([]);
    await expect(bannedOnC.request('chat:send', { conversationId: channelId, text: 'let me back' })).rejects.toMatchObject({
      code: 'not_a_member',
    });
    await expect(bannedOnB.request('server:join', { serverId })).rejects.toMatchObject({ code: 'banned' });
  });

  it('counts wrong invite codes across pods: failures spread over A, B and C lock the user out together', async () => {
    const owner = await registerUser(cluster.url(A));
    const server = await owner.http.createServer({ name: 'guarded' });
    const invite = await owner.http.request<{ code: string }>('POST', `/api/servers/${server.id}/invites`, {});
    const guesser = await registerUser(cluster.url(A));
    const sockets = await Promise.all([A, B, C].map((pod) => cluster.connect(pod, guesser)));

    for (const [pod, socket] of sockets.entries()) {
      const outcome = socket.request('server:join', { serverId: server.id, inviteCode: `wrong-${pod}` });
      await expect(outcome).rejects.toMatchObject({ code: 'invalid_invite' });
    }
    for (const socket of sockets) {
      await expect(socket.request('server:join', { serverId: server.id, inviteCode: invite.code })).rejects.toMatchObject({
        code: 'too_many_attempts',
      });
    }
  });

  it('two pods racing for the last use of an invite: exactly one wins', async () => {
    const owner = await registerUser(cluster.url(A));
    const server = await owner.http.createServer({ name: 'last seat' });
    for (let round = 0; round < 5; round++) {
      const invite = await owner.http.request<{ code: string }>('POST', `/api/servers/${server.id}/invites`, { maxUses: 1 });
      const racers = await Promise.all([A, B, C].map((pod) => registerUser(cluster.url(pod))));
      const sockets = await Promise.all(racers.map((user, pod) => cluster.connect(pod, user)));
      const outcomes = await Promise.allSettled(
        sockets.map((socket) => socket.request('server:join', { serverId: server.id, inviteCode: invite.code })),
      );
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      for (const outcome of outcomes.filter((outcome) => outcome.status === 'rejected')) {
        expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'invalid_invite' });
      }
    }
    const database = await cluster.database.open();
    const row = await database.db.selectFrom('servers').select('member_count').where('id', '=', server.id).executeTakeFirstOrThrow();
    const invites = await database.db.selectFrom('invites').select('uses').where('server_id', '=', server.id).execute();
    await database.close();
    expect(row.member_count).toBe(1 + 5);
    expect(invites.map((invite) => invite.uses)).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('a cluster running one community (SERVER_NAME)', () => {
  let single: TestCluster;
  beforeAll(async () => {
    single = await TestCluster.start({ SERVER_NAME: 'Shared Hangout' });
  });
  afterEach(() => single.closeSockets());
  afterAll(() => single?.stop());

  it('all pods serve the same community; of users racing on A, B and C exactly one becomes its owner', async () => {
    const users = await Promise.all([A, B, C].map((pod) => registerUser(single.url(pod))));
    const sockets = await Promise.all(users.map((user, pod) => single.connect(pod, user)));
    const previews = await Promise.all(sockets.map((socket) => socket.request('server:info', {})));
    expect(new Set(previews.map((preview) => preview.id)).size).toBe(1);

    const outcomes = await Promise.allSettled(sockets.map((socket) => socket.request('server:join', {})));
    const winners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    expect((winners[0] as PromiseFulfilledResult<unknown>).value).toMatchObject({ isOwner: true, setupRequired: true });
  });
});
