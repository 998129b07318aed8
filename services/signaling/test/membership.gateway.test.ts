import type { ParleySocket } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Argon2PasswordHasher } from '../src/adapters/argon2/password-hasher.ts';
import { addMember } from './support/communities.ts';
import { communityFixtures } from './support/community-fixtures.ts';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { collectMessages, connect, emitUntyped, failureOf, nextEvent, OpenSockets, registerUser, type TestUser } from './support/users.ts';

let node: TestNode;
const sockets = new OpenSockets();

beforeAll(async () => {
  node = await startTestNode({
    RATE_LIMIT_AUTH: '1000/1m',
    SERVER_INVITE_MAX_RETRIES: '3',
    SERVER_INVITE_IP_MAX_RETRIES: '1000',
    SERVER_INVITE_RETRY_COOLDOWN_MS: '60000',
  });
});
afterAll(async () => {
  sockets.closeAll();
  await node.stop();
});

function online(user: TestUser, clientInstanceId?: string): Promise<ParleySocket> {
  return sockets.connect(node.url, user, clientInstanceId);
}

async function community(policy: 'open' | 'invite' | 'request' | 'password' = 'invite') {
  const owner = await registerUser(node.url);
  const server = await owner.http.createServer({ name: `community ${policy}` });
  await node.database.db.updateTable('servers').set({ join_policy: policy }).where('id', '=', server.id).execute();
  return { owner, server, channelId: server.channels[0]!.id };
}

function createInvite(owner: TestUser, serverId: string, body: object = {}) {
  return owner.http.request<{ code: string }>('POST', `/api/servers/${serverId}/invites`, body);
}

const { memberCount } = communityFixtures(() => node);

describe('server:join', () => {
  it('joins an open community: ack and server:joined, every device of the user enters its rooms, members hear it', async () => {
    const { owner, server, channelId } = await community('open');
    const ownerSocket = await online(owner);
    const joiner = await registerUser(node.url);
    const laptop = await online(joiner, 'laptop');
    const phone = await online(joiner, 'phone');
    const heardJoin = nextEvent(ownerSocket, 'server:member_joined');
    const joinedEvent = nextEvent(laptop, 'server:joined');

    const joined = await laptop.request('server:join', { serverId: server.id, nickname: 'Newbie', identityToken: 'ignored' } as never);
    expect(joined).toEqual({ serverId: server.id, nickname: 'Newbie', isOwner: false, setupRequired: false, joined: true });
    expect(await joinedEvent).toEqual(joined);
    expect(await heardJoin).toMatchObject({ serverId: server.id, member: { userId: joiner.session.id, nickname: 'Newbie', isOwner: false } });
    expect(await memberCount(server.id)).toBe(2);

    // Both devices now receive the community's messages.
    const arrivals = [laptop, phone].map((socket) => nextEvent(socket, 'chat:new'));
    await ownerSocket.request('chat:send', { conversationId: channelId, text: 'welcome' });
    for (const message of await Promise.all(arrivals)) expect(message.text).toBe('welcome');

    // Joining again changes nothing.
    expect(await phone.request('server:join', { serverId: server.id })).toMatchObject({ joined: false, nickname: 'Newbie' });
    expect(await memberCount(server.id)).toBe(2);
  });

  it('does not announce joins and leaves in a community of more than 1000 members', async () => {
    const { owner, server } = await community('open');
    // 1000 more members, written straight (a join recounts the members, so the count must be true).
    const users = await node.database.db
      .insertInto('users')
      .values(Array.from({ length: 1000 }, (_, index) => ({ username: `big_${server.id.slice(0, 8)}_${index}`, display_name: `Member ${index}` })))
      .returning('id')
      .execute();
    await node.database.db.insertInto('members').values(users.map((user) => ({ server_id: server.id, user_id: user.id }))).execute();
    await node.database.db.updateTable('servers').set({ member_count: 1001 }).where('id', '=', server.id).execute();
    const ownerSocket = await online(owner);
    const heard: string[] = [];
    ownerSocket.on('server:member_joined', () => heard.push('joined'));
    ownerSocket.on('server:member_left', () => heard.push('left'));
    const joiner = await online(await registerUser(node.url));
    await joiner.request('server:join', { serverId: server.id });
    await joiner.request('server:leave', { serverId: server.id });
    // The events would have been written to the owner's connection before this acknowledgement.
    await ownerSocket.request('server:info', { serverId: server.id });
    expect(heard).toEqual([]);
    expect(await memberCount(server.id)).toBe(1001);
  });

  it('needs an invite in an invite community; spends one use of a valid one', async () => {
    const { owner, server } = await community('invite');
    const socket = await online(await registerUser(node.url));
    const serverError = nextEvent(socket, 'server:error');
    await expect(socket.request('server:join', { serverId: server.id })).rejects.toMatchObject({ code: 'invite_required' });
    expect(await serverError).toMatchObject({ error: 'invite_required' });

    const invite = await createInvite(owner, server.id, { maxUses: 2 });
    expect(await socket.request('server:join', { serverId: server.id, inviteCode: invite.code })).toMatchObject({ joined: true });
    const row = await node.database.db.selectFrom('invites').selectAll().where('code', '=', invite.code).executeTakeFirstOrThrow();
    expect(row.uses).toBe(1);
  });

  it('refuses used-up, expired, revoked and foreign invites with invalid_invite', async () => {
    const { owner, server } = await community('invite');
    const other = await community('invite');
    const usedUp = await createInvite(owner, server.id, { maxUses: 1 });
    const expired = await createInvite(owner, server.id);
    const revoked = await createInvite(owner, server.id);
    const foreign = await createInvite(other.owner, other.server.id);
    await node.database.db.updateTable('invites').set({ expires_at: new Date(Date.now() - 1000) }).where('code', '=', expired.code).execute();
    await owner.http.request('DELETE', `/api/servers/${server.id}/invites/${revoked.code}`);
    expect(await (await online(await registerUser(node.url))).request('server:join', { serverId: server.id, inviteCode: usedUp.code })).toMatchObject({ joined: true });

    for (const code of [usedUp.code, expired.code, revoked.code, foreign.code]) {
      // A fresh user each time, so the attempt guard (3 failures here) stays out of the way.
      const socket = await online(await registerUser(node.url));
      await expect(socket.request('server:join', { serverId: server.id, inviteCode: code })).rejects.toMatchObject({ code: 'invalid_invite' });
    }
    expect(await memberCount(server.id)).toBe(2);
  });

  it('locks a user out after SERVER_INVITE_MAX_RETRIES wrong codes, even for a valid code; a success clears the count', async () => {
    const { owner, server } = await community('invite');
    const valid = await createInvite(owner, server.id);
    const guesser = await online(await registerUser(node.url));
    const attempt = (inviteCode: string) => guesser.request('server:join', { serverId: server.id, inviteCode });

    await expect(attempt('guess1')).rejects.toMatchObject({ code: 'invalid_invite', retryAfterMs: undefined });
    await expect(attempt('guess2')).rejects.toMatchObject({ code: 'invalid_invite', retryAfterMs: undefined });
    await expect(attempt('guess3')).rejects.toMatchObject({ code: 'invalid_invite', retryAfterMs: 60_000 });
    const locked = await failureOf(attempt(valid.code));
    expect(locked).toMatchObject({ code: 'too_many_attempts' });
    expect(locked.retryAfterMs).toBeGreaterThan(55_000);
    expect(locked.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await memberCount(server.id)).toBe(1);

    // Another user on the same address is not locked (3 per user+IP here; the IP limit is high).
    const honest = await online(await registerUser(node.url));
    await expect(honest.request('server:join', { serverId: server.id, inviteCode: 'typo' })).rejects.toMatchObject({ code: 'invalid_invite' });
    await expect(honest.request('server:join', { serverId: server.id, inviteCode: 'typo2' })).rejects.toMatchObject({ code: 'invalid_invite' });
    expect(await honest.request('server:join', { serverId: server.id, inviteCode: valid.code })).toMatchObject({ joined: true });
    const elsewhere = await community('invite');
    const next = await createInvite(elsewhere.owner, elsewhere.server.id);
    // After the success the count starts again: two more wrong codes do not lock.
    await expect(honest.request('server:join', { serverId: elsewhere.server.id, inviteCode: 'x1' })).rejects.toMatchObject({ code: 'invalid_invite' });
    await expect(honest.request('server:join', { serverId: elsewhere.server.id, inviteCode: 'x2' })).rejects.toMatchObject({ code: 'invalid_invite' });
    expect(await honest.request('server:join', { serverId: elsewhere.server.id, inviteCode: next.code })).toMatchObject({ joined: true });
  });

  it('joins a password community with its password only; wrong passwords count as failed attempts', async () => {
    const { server } = await community('password');
    const hash = await new Argon2PasswordHasher().hash('open sesame');
    await node.database.db.updateTable('servers').set({ password_hash: hash }).where('id', '=', server.id).execute();
    const socket = await online(await registerUser(node.url));
    await expect(socket.request('server:join', { serverId: server.id })).rejects.toMatchObject({ code: 'server_password_required' });
    await expect(socket.request('server:join', { serverId: server.id, password: 'open says me' })).rejects.toMatchObject({
      code: 'invalid_server_password',
    });
    expect(await socket.request('server:join', { serverId: server.id, password: 'open sesame' })).toMatchObject({ joined: true });
  });

  it('refuses a banned user (with the time left on a timed ban) and admits them once the ban expired', async () => {
    const { owner, server } = await community('open');
    const user = await registerUser(node.url);
    const socket = await online(user);
    const expiresAt = new Date(Date.now() + 3_600_000);
    await node.database.db
      .insertInto('bans')
      .values({ server_id: server.id, user_id: user.session.id, reason: 'spam', banned_by: owner.session.id, expires_at: expiresAt })
      .execute();
    const refusal = await failureOf(socket.request('server:join', { serverId: server.id }));
    expect(refusal).toMatchObject({ code: 'banned' });
    expect(refusal.retryAfterMs).toBeGreaterThan(3_500_000);
    await node.database.db.updateTable('bans').set({ expires_at: new Date(Date.now() - 1) }).where('user_id', '=', user.session.id).execute();
    expect(await socket.request('server:join', { serverId: server.id })).toMatchObject({ joined: true });
  });

  it('answers bad input with a clear error and writes nothing', async () => {
    const { server } = await community('open');
    const socket = await online(await registerUser(node.url));
    const before = await rowCounts(node.database);
    const cases: Array<[unknown, string]> = [
      [{ serverId: 'not-a-uuid' }, 'invalid_payload'],
      [{ serverId: crypto.randomUUID() }, 'server_not_found'],
      [{}, 'invalid_payload'],
      [{ serverId: server.id, nickname: 'n'.repeat(33) }, 'invalid_payload'],
      [{ serverId: server.id, nickname: 42 }, 'invalid_payload'],
      [{ serverId: server.id, inviteCode: 'x'.repeat(65) }, 'invalid_payload'],
      [{ serverId: server.id, inviteCode: "'; drop table servers; --" }, 'invalid_payload'],
      ['server', 'invalid_payload'],
    ];
    for (const [payload, code] of cases) {
      await expect(socket.request('server:join', payload as never)).rejects.toMatchObject({ code });
    }
    emitUntyped(socket, 'server:join', { serverId: server.id, nickname: ['x'] });
    expect(await rowCounts(node.database)).toEqual(before);
    expect(socket.connected).toBe(true);
  });
});

describe('join requests', () => {
  it('files one request on server:join; a moderator approves it over PUT /api/requests/:id and every device of the requester hears it', async () => {
    const { owner, server, channelId } = await community('request');
    const moderator = await registerUser(node.url);
    await addMember(node.database, server.id, moderator.session.id, { roles: ['moderator'] });
    const plain = await registerUser(node.url);
    await addMember(node.database, server.id, plain.session.id);
    const requester = await registerUser(node.url);
    const desktop = await online(requester, 'desktop');
    const mobile = await online(requester, 'mobile');

    for (let i = 0; i < 2; i++) {
      await expect(desktop.request('server:join', { serverId: server.id, message: 'let me in' })).rejects.toMatchObject({
        code: 'join_request_pending',
      });
    }
    const { items } = await moderator.http.request<{ items: Array<{ id: string; userId: string; message: string }> }>(
      'GET',
      `/api/servers/${server.id}/requests`,
    );
    expect(items).toMatchObject([{ userId: requester.session.id, message: 'let me in', status: 'pending' }]);
    const requestId = items[0]!.id;

    await expect(plain.http.request('PUT', `/api/requests/${requestId}`, { status: 'approved' })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(plain.http.request('GET', `/api/servers/${server.id}/requests`)).rejects.toMatchObject({ code: 'forbidden' });
    const outsider = await registerUser(node.url);
    await expect(outsider.http.request('PUT', `/api/requests/${requestId}`, { status: 'approved' })).rejects.toMatchObject({
      code: 'join_request_not_found',
    });
    await expect(moderator.http.request('PUT', `/api/requests/${requestId}`, { status: 'maybe' })).rejects.toMatchObject({ code: 'invalid_payload' });

    const heard = [desktop, mobile].map((socket) => nextEvent(socket, 'join_request:updated'));
    const decided = await moderator.http.request('PUT', `/api/requests/${requestId}`, { status: 'approved', userId: owner.session.id });
    expect(decided).toMatchObject({ id: requestId, status: 'approved', decidedBy: moderator.session.id });
    for (const event of await Promise.all(heard)) expect(event).toMatchObject({ id: requestId, status: 'approved' });
    await expect(moderator.http.request('PUT', `/api/requests/${requestId}`, { status: 'rejected' })).rejects.toMatchObject({
      code: 'join_request_not_found',
    });

    const message = nextEvent(mobile, 'chat:new');
    const ownerSocket = await online(owner);
    await ownerSocket.request('chat:send', { conversationId: channelId, text: 'approved!' });
    expect((await message).text).toBe('approved!');
    expect(await memberCount(server.id)).toBe(4);
  });

  it('a rejected requester may not ask again for a day (canReapply false)', async () => {
    const { owner, server } = await community('request');
    const requester = await registerUser(node.url);
    const filed = await requester.http.request<{ id: string }>('POST', `/api/servers/${server.id}/requests`, { message: 'hi' });
    await owner.http.request('PUT', `/api/requests/${filed.id}`, { status: 'rejected' });
    const socket = await online(requester);
    const serverError = nextEvent(socket, 'server:error');
    await expect(socket.request('server:join', { serverId: server.id })).rejects.toMatchObject({
      code: 'join_request_rejected',
      canReapply: false,
    });
    expect(await serverError).toMatchObject({ error: 'join_request_rejected', canReapply: false });
    await expect(requester.http.request('POST', `/api/servers/${server.id}/requests`, {})).rejects.toMatchObject({ code: 'join_request_rejected' });
    const rows = await node.database.db.selectFrom('join_requests').select('status').where('server_id', '=', server.id).execute();
    expect(rows).toEqual([{ status: 'rejected' }]);
  });
});

describe('server:leave, server:details, server:info', () => {
  it('leaving takes every device out of the rooms and deactivates the membership; the owner cannot leave', async () => {
    const { owner, server, channelId } = await community('open');
    const leaver = await registerUser(node.url);
    const first = await online(leaver, 'first');
    const second = await online(leaver, 'second');
    await first.request('server:join', { serverId: server.id });
    const ownerSocket = await online(owner);
    await expect(ownerSocket.request('server:leave', { serverId: server.id })).rejects.toMatchObject({ code: 'owner_cannot_leave' });

    const removed = [first, second].map((socket) => nextEvent(socket, 'server:removed'));
    const heardLeft = nextEvent(ownerSocket, 'server:member_left');
    await first.request('server:leave', { serverId: server.id });
    for (const event of await Promise.all(removed)) expect(event).toEqual({ serverId: server.id, reason: 'left' });
    expect(await heardLeft).toEqual({ serverId: server.id, userId: leaver.session.id, reason: 'left' });
    const received = collectMessages(second);
    await ownerSocket.request('chat:send', { conversationId: channelId, text: 'after leaving' });
    const control = await online(owner, 'control');
    const controlMessage = nextEvent(control, 'chat:new');
    await ownerSocket.request('chat:send', { conversationId: channelId, text: 'marker' });
    await controlMessage;
    expect(received).toEqual([]);
    expect(await memberCount(server.id)).toBe(1);
    await expect(first.request('server:leave', { serverId: server.id })).rejects.toMatchObject({ code: 'not_a_member' });
  });

  it('server:details gives members the visible channels, roles, members and their own permissions', async () => {
    const { owner, server } = await community('open');
    const hidden = await owner.http.request<{ id: string }>('POST', `/api/servers/${server.id}/channels`, { name: 'staff', type: 'text' });
    const memberRole = await node.database.db.selectFrom('roles').select('id').where('server_id', '=', server.id).where('builtin', '=', 'member').executeTakeFirstOrThrow();
    await node.database.db.insertInto('channel_overrides').values({ channel_id: hidden.id, role_id: memberRole.id, deny: ['view_channels'] }).execute();
    const user = await registerUser(node.url);
    const socket = await online(user);
    await expect(socket.request('server:details', { serverId: server.id })).rejects.toMatchObject({ code: 'not_a_member' });
    await socket.request('server:join', { serverId: server.id });

    const event = nextEvent(socket, 'server:details');
    const details = await socket.request('server:details', { serverId: server.id });
    expect(await event).toEqual(details);
    expect(details.server).toMatchObject({ id: server.id, memberCount: 2 });
    expect(details.channels.map((channel) => channel.name)).toEqual(['general']);
    expect(details.roles.map((role) => role.builtin)).toEqual(['admin', 'moderator', 'member', 'guest']);
    expect(details.members.map((member) => member.userId)).toEqual([owner.session.id, user.session.id]);
    expect(details.me).toMatchObject({ rank: 100, member: { userId: user.session.id, roleIds: [memberRole.id] } });
    expect(details.me.permissions.sort()).toEqual(['change_nickname', 'connect_voice', 'send_messages', 'speak', 'view_channels']);

    const ownerDetails = await (await online(owner)).request('server:details', { serverId: server.id });
    expect(ownerDetails.channels.map((channel) => channel.name)).toEqual(['general', 'staff']);
    expect(ownerDetails.me.rank).toBe(1000);
  });

  it('server:info previews any community without joining; serverId is required without SERVER_NAME', async () => {
    const { server } = await community('invite');
    const socket = await online(await registerUser(node.url));
    const event = nextEvent(socket, 'server:info');
    const preview = await socket.request('server:info', { serverId: server.id });
    expect(preview).toEqual({
      id: server.id,
      name: 'community invite',
      description: null,
      iconUrl: null,
      joinPolicy: 'invite',
      members: 1,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      createdAt: server.createdAt,
    });
    expect(await event).toEqual(preview);
    await expect(socket.request('server:info', { serverId: crypto.randomUUID() })).rejects.toMatchObject({ code: 'server_not_found' });
    await expect(socket.request('server:info', {})).rejects.toMatchObject({ code: 'invalid_payload' });
  });
});

describe('a deployment running one community (SERVER_NAME)', () => {
  let single: TestNode;
  beforeAll(async () => {
    single = await startTestNode({ SERVER_NAME: 'The Hangout', RATE_LIMIT_AUTH: '1000/1m' });
  });
  afterAll(() => single.stop());

  it('creates it at start; of users racing to join it first exactly one becomes its owner, the rest need an invite', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => registerUser(single.url)));
    const connections = await Promise.all(users.map((user) => connect(single.url, user)));
    for (const socket of connections) sockets.track(socket);
    const info = await connections[0]!.request('server:info', {});
    expect(info).toMatchObject({ name: 'The Hangout', members: 0, joinPolicy: 'invite' });

    const outcomes = await Promise.allSettled(connections.map((socket) => socket.request('server:join', { nickname: 'me' })));
    const owners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(owners).toHaveLength(1);
    expect((owners[0] as PromiseFulfilledResult<unknown>).value).toMatchObject({ isOwner: true, setupRequired: true, joined: true });
    for (const outcome of outcomes.filter((outcome) => outcome.status === 'rejected')) {
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'invite_required' });
    }
    const row = await single.database.db.selectFrom('servers').selectAll().where('is_default', '=', true).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ name: 'The Hangout', member_count: 1 });
    const ownerIndex = outcomes.findIndex((outcome) => outcome.status === 'fulfilled');
    expect(row.owner_id).toBe(users[ownerIndex]!.session.id);
    expect(await connections[ownerIndex]!.request('server:details', {})).toMatchObject({ me: { rank: 1000 } });
  });
});

describe('rate limit', () => {
  it('allows RATE_LIMIT_SERVER_JOIN joins per user, then rate_limited with server:error', async () => {
    const limited = await startTestNode({ RATE_LIMIT_SERVER_JOIN: '2/1m', RATE_LIMIT_AUTH: '1000/1m' });
    try {
      const user = await registerUser(limited.url);
      const socket = await connect(limited.url, user);
      sockets.track(socket);
      const serverId = crypto.randomUUID();
      for (let i = 0; i < 2; i++) await expect(socket.request('server:join', { serverId })).rejects.toMatchObject({ code: 'server_not_found' });
      const serverError = nextEvent(socket, 'server:error');
      await expect(socket.request('server:join', { serverId })).rejects.toMatchObject({ code: 'rate_limited' });
      expect(await serverError).toMatchObject({ error: 'rate_limited', retryAfterMs: expect.any(Number) });
    } finally {
      await limited.stop();
    }
  });
});
