import type { ParleySocket } from '@parley/client';
import type { VoiceParticipant } from '@parley/protocol';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtinRoleId } from './support/communities.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { connect, emitUntyped, failureOf, nextEvent, OpenSockets, type TestUser } from './support/users.ts';
import { TEST_SFU_URLS, voiceCommunity, type VoiceCommunity } from './support/voice.ts';

let node: TestNode;
const sockets = new OpenSockets();

beforeAll(async () => {
  node = await startTestNode({
    SFU_PUBLIC_HOST: TEST_SFU_URLS.join(','),
    STUN_SERVERS: 'stun:stun.example.test:3478',
    TURN_URLS: 'turn:turn.example.test:3478',
    TURN_SECRET: 'a-turn-secret-of-the-test',
    VOICE_MAX_USERS: '3',
    RATE_LIMIT_VOICE_STATE: '20/10s',
    RATE_LIMIT_VOICE_REQUEST: '1000/10s',
    VOICE_KEY_ENCRYPTION_SECRET: 'the-test-nodes-key-encryption-secret',
    // Tests here stand in for time passing by rewriting member rows, which no pod is told of;
    // a cached timed mute runs out by the clock (channel-access.service.test.ts).
    ACCESS_CACHE_TTL_MS: '0',
  });
});
afterEach(() => sockets.closeAll());
afterAll(() => node?.stop());

function online(user: TestUser, clientInstanceId?: string): Promise<ParleySocket> {
  return sockets.connect(node.url, user, clientInstanceId);
}

async function community(members = 1): Promise<VoiceCommunity> {
  return voiceCommunity(node.url, node.database, members);
}

async function seated(socket: ParleySocket, channelId: string): Promise<void> {
  await socket.request('voice:room:request', channelId);
}

async function voiceOf(socket: ParleySocket, serverId: string, channelId: string): Promise<VoiceParticipant[]> {
  const details = await socket.request('server:details', { serverId });
  return details.voice.find((room) => room.channelId === channelId)?.participants ?? [];
}

describe('voice:room:request', () => {
  it('grants the room: server-prefixed room id, SFU urls, ICE servers and a join token the SFU can verify', async () => {
    const { owner, serverId, voiceChannelId, members } = await community(1);
    const listener = await online(members[0]!);
    const socket = await online(owner, 'desk');
    const joined = nextEvent(listener, 'voice:joined');
    const grantedEvent = nextEvent(socket, 'voice:room:granted');

    const grant = await socket.request('voice:room:request', voiceChannelId);
    expect(grant).toMatchObject({ room_id: `${serverId}:${voiceChannelId}`, sfu_url: TEST_SFU_URLS[0], sfu_urls: TEST_SFU_URLS });
    expect(Math.abs(grant.timestamp - Date.now())).toBeLessThan(5000);
    expect(grant.ice_servers[0]).toEqual({ urls: ['stun:stun.example.test:3478'] });
    expect(grant.ice_servers[1]).toMatchObject({ urls: ['turn:turn.example.test:3478'], username: expect.stringMatching(/^\d+:/) });
    expect(await grantedEvent).toEqual(grant);
    expect(await joined).toMatchObject({ userId: owner.session.id, channelId: voiceChannelId, streamId: null, isMuted: false });

    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', node.url));
    const { payload, protectedHeader } = await jwtVerify(grant.join_token, jwks, {
      issuer: 'parley',
      audience: 'parley-sfu',
      algorithms: ['ES256'],
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: owner.session.id, room: grant.room_id, client_instance_id: 'desk' });
    expect(payload.permissions).toEqual(['connect_voice', 'speak']);
    expect(payload.exp! - payload.iat!).toBe(120);

    // The signing keys' private halves are sealed at rest (VOICE_KEY_ENCRYPTION_SECRET).
    const stored = await node.database.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
    expect(stored.map((row) => row.kid)).toContain(protectedHeader.kid);
    for (const row of stored) expect(Object.keys(row.private_jwk as object).sort()).toEqual(['data', 'iv', 'sealed', 'tag']);

    expect(await voiceOf(socket, serverId, voiceChannelId)).toMatchObject([{ userId: owner.session.id }]);
  });

  it('accepts the room id of a grant, and a repeated request from the same device keeps one seat', async () => {
    const { owner, serverId, voiceChannelId } = await community(0);
    const socket = await online(owner);
    const first = await socket.request('voice:room:request', voiceChannelId);
    const second = await socket.request('voice:room:request', { roomId: first.room_id });
    expect(second.room_id).toBe(first.room_id);
    expect(await voiceOf(socket, serverId, voiceChannelId)).toHaveLength(1);
  });

  it('moves a seat from one voice channel to another: the first room hears the user left (moved)', async () => {
    const { owner, serverId, voiceChannelId, members } = await community(1);
    const other = await owner.http.request<{ id: string }>('POST', `/api/servers/${serverId}/channels`, { name: 'Other', type: 'voice' });
    const listener = await online(members[0]!);
    const socket = await online(owner);
    await seated(socket, voiceChannelId);
    const left = nextEvent(listener, 'voice:left');
    await seated(socket, other.id);
    expect(await left).toEqual({ serverId, channelId: voiceChannelId, userId: owner.session.id, reason: 'moved' });
    const details = await socket.request('server:details', { serverId });
    expect(details.voice).toEqual([{ channelId: other.id, participants: [expect.objectContaining({ userId: owner.session.id })] }]);
  });

  it('admits VOICE_MAX_USERS and answers room_full (ack and voice:room:error) after that', async () => {
    const { owner, serverId, voiceChannelId, members } = await community(3);
    for (const user of [owner, ...members.slice(0, 2)]) await seated(await online(user), voiceChannelId);
    const fourth = await online(members[2]!);
    const errorEvent = nextEvent(fourth, 'voice:room:error');
    expect((await failureOf(fourth.request('voice:room:request', voiceChannelId))).code).toBe('room_full');
    expect(await errorEvent).toMatchObject({ error: 'room_full' });
    expect(await voiceOf(fourth, serverId, voiceChannelId)).toHaveLength(3);
  });

  it('refuses unknown rooms, text channels, other communities, missing permission and malformed payloads, changing nothing', async () => {
    const { owner, serverId, textChannelId, voiceChannelId, members } = await community(1);
    const elsewhere = await community(0);
    const member = await online(members[0]!);
    const codeOf = async (payload: unknown) => (await failureOf(member.request('voice:room:request', payload as string))).code;

    expect(await codeOf(crypto.randomUUID())).toBe('channel_not_found');
    expect(await codeOf(textChannelId)).toBe('channel_not_found');
    expect(await codeOf(elsewhere.voiceChannelId)).toBe('not_a_member');
    for (const bad of [42, null, '', 'x'.repeat(5000), { roomId: 7 }, [voiceChannelId], `${serverId}:${voiceChannelId}:x`]) {
      expect(await codeOf(bad)).toBe('invalid_payload');
    }
    const memberRoleId = await builtinRoleId(node.database, serverId, 'member');
    await owner.http.request('PUT', `/api/servers/${serverId}/channels/${voiceChannelId}/overrides/${memberRoleId}`, {
      allow: [],
      deny: ['connect_voice'],
    });
    expect(await codeOf(voiceChannelId)).toBe('forbidden');
    expect(await voiceOf(member, serverId, voiceChannelId)).toEqual([]);
  });

  it('answers voice_unavailable when no SFU is configured', async () => {
    const bare = await startTestNode();
    try {
      const { owner, voiceChannelId } = await voiceCommunity(bare.url, bare.database, 0);
      const socket = sockets.track(await connect(bare.url, owner));
      expect((await failureOf(socket.request('voice:room:request', voiceChannelId))).code).toBe('voice_unavailable');
    } finally {
      sockets.closeAll();
      await bare.stop();
    }
  });
});

describe('voice state', () => {
  it('voice:stream:set and voice:state:update reach the room; an empty stream id leaves', async () => {
    const { owner, serverId, voiceChannelId, members } = await community(1);
    const listener = await online(members[0]!);
    const socket = await online(owner);
    await seated(socket, voiceChannelId);

    const streamed = nextEvent(listener, 'voice:state');
    expect((await socket.request('voice:stream:set', 'stream-1')).participant).toMatchObject({ streamId: 'stream-1' });
    expect(await streamed).toMatchObject({ userId: owner.session.id, streamId: 'stream-1' });

    const muted = nextEvent(listener, 'voice:state');
    await socket.request('voice:state:update', { isMuted: true, isDeafened: true, isAFK: false });
    expect(await muted).toMatchObject({ isMuted: true, isDeafened: true, isAFK: false, serverMuted: false });

    const left = nextEvent(listener, 'voice:left');
    expect(await socket.request('voice:stream:set', '')).toEqual({ participant: null });
    expect(await left).toEqual({ serverId, channelId: voiceChannelId, userId: owner.session.id, reason: 'left' });
    expect((await failureOf(socket.request('voice:state:update', { isMuted: false, isDeafened: false, isAFK: false }))).code).toBe(
      'not_voice_owner',
    );
  });

  it('a server-muted participant is forced muted and cannot unmute; lifting the mute lets them', async () => {
    const { owner, serverId, voiceChannelId, members } = await community(1);
    const ownerSocket = await online(owner);
    const user = members[0]!;
    const socket = await online(user);
    await seated(socket, voiceChannelId);

    const forced = nextEvent(ownerSocket, 'voice:state');
    await owner.http.request('PUT', `/api/servers/${serverId}/members/${user.session.id}`, { muted: true });
    expect(await forced).toMatchObject({ userId: user.session.id, isMuted: true, serverMuted: true });

    const refused = await failureOf(socket.request('voice:state:update', { isMuted: false, isDeafened: true, isAFK: true }));
    expect(refused.code).toBe('muted');
    expect((await voiceOf(ownerSocket, serverId, voiceChannelId))[0]).toMatchObject({ isMuted: true, isDeafened: false, isAFK: false });

    // A new grant while muted carries no speak permission.
    const grant = await socket.request('voice:room:request', voiceChannelId);
    const claims = JSON.parse(Buffer.from(grant.join_token.split('.')[1]!, 'base64url').toString()) as { permissions: string[] };
    expect(claims.permissions).toEqual(['connect_voice']);

    await owner.http.request('PUT', `/api/servers/${serverId}/members/${user.session.id}`, { muted: false });
    const { participant } = await socket.request('voice:state:update', { isMuted: false, isDeafened: false, isAFK: false });
    expect(participant).toMatchObject({ isMuted: false, serverMuted: false });
  });

  it('a timed server mute that ran out lets the participant unmute', async () => {
    const { owner, serverId, voiceChannelId, members } = await community(1);
    const user = members[0]!;
    const socket = await online(user);
    await seated(socket, voiceChannelId);
    await owner.http.request('PUT', `/api/servers/${serverId}/members/${user.session.id}`, { muted: true, muteDurationMs: 60_000 });
    const unmute = { isMuted: false, isDeafened: false, isAFK: false };
    expect((await failureOf(socket.request('voice:state:update', unmute))).code).toBe('muted');

    // The minute passes (the member row says so; nothing announces an expiry).
    await node.database.db
      .updateTable('members')
      .set({ muted_until: new Date(Date.now() - 1000) })
      .where('server_id', '=', serverId)
      .where('user_id', '=', user.session.id)
      .execute();
    const { participant } = await socket.request('voice:state:update', unmute);
    expect(participant).toMatchObject({ isMuted: false, serverMuted: false });
  });

  it('seats follow changed permissions: losing speak forces a server mute, losing connect_voice removes the seat', async () => {
    const { owner, serverId, voiceChannelId, members } = await community(1);
    const ownerSocket = await online(owner);
    const socket = await online(members[0]!);
    await seated(socket, voiceChannelId);
    const override = `/api/servers/${serverId}/channels/${voiceChannelId}/overrides/${await builtinRoleId(node.database, serverId, 'member')}`;

    const silenced = nextEvent(ownerSocket, 'voice:state');
    await owner.http.request('PUT', override, { allow: [], deny: ['speak'] });
    expect(await silenced).toMatchObject({ userId: members[0]!.session.id, serverMuted: true, isMuted: true });

    const voiced = nextEvent(ownerSocket, 'voice:state');
    await owner.http.request('DELETE', override);
    expect(await voiced).toMatchObject({ userId: members[0]!.session.id, serverMuted: false });

    const removed = nextEvent(ownerSocket, 'voice:left');
    const released = nextEvent(socket, 'voice:released');
    await owner.http.request('PUT', override, { allow: [], deny: ['connect_voice'] });
    expect(await removed).toMatchObject({ userId: members[0]!.session.id, reason: 'removed' });
    expect(await released).toEqual({ reason: 'removed' });
  });

  it('a closed connection leaves its room; a kicked member is removed and told to release', async () => {
    const { owner, serverId, voiceChannelId, members } = await community(2);
    const ownerSocket = await online(owner);
    const first = await online(members[0]!);
    await seated(first, voiceChannelId);
    const disconnected = nextEvent(ownerSocket, 'voice:left');
    first.close();
    expect(await disconnected).toMatchObject({ userId: members[0]!.session.id, reason: 'disconnected' });

    const second = await online(members[1]!);
    await seated(second, voiceChannelId);
    const removed = nextEvent(ownerSocket, 'voice:left');
    const released = nextEvent(second, 'voice:released');
    await owner.http.request('DELETE', `/api/servers/${serverId}/members/${members[1]!.session.id}`);
    expect(await removed).toMatchObject({ userId: members[1]!.session.id, reason: 'removed' });
    expect(await released).toEqual({ reason: 'removed' });
    expect(await voiceOf(ownerSocket, serverId, voiceChannelId)).toEqual([]);
  });

  it('deleting the voice channel empties its room', async () => {
    const { owner, serverId, voiceChannelId, members } = await community(1);
    const socket = await online(members[0]!);
    await seated(socket, voiceChannelId);
    const released = nextEvent(socket, 'voice:released');
    await owner.http.request('DELETE', `/api/servers/${serverId}/channels/${voiceChannelId}`);
    expect(await released).toEqual({ reason: 'removed' });
    await socket.request('voice_client_takeover', {}).then((result) => expect(result.participant).toBeNull());
  });

  it('rejects malformed state, and a flood is rate limited without changing the seat', async () => {
    const { owner, voiceChannelId } = await community(0);
    const socket = await online(owner);
    await seated(socket, voiceChannelId);
    for (const bad of [{}, { isMuted: 'yes', isDeafened: false, isAFK: false }, null, 'x'.repeat(300)]) {
      const event = typeof bad === 'string' ? 'voice:stream:set' : 'voice:state:update';
      expect((await failureOf(socket.request(event, bad as never))).code).toBe('invalid_payload');
    }
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => socket.request('voice:state:update', { isMuted: true, isDeafened: false, isAFK: false })),
    );
    const limited = results.filter((result) => result.status === 'rejected');
    expect(limited.length).toBeGreaterThanOrEqual(10);
    for (const result of limited) expect((result as PromiseRejectedResult).reason.code).toBe('rate_limited');
  });
});

describe('one voice device per user', () => {
  it('a second device gets voice_in_use; voice_client_takeover moves the seat without the room seeing anyone leave', async () => {
    const { owner, serverId, voiceChannelId, members } = await community(1);
    const listener = await online(members[0]!);
    const desk = await online(owner, 'desk');
    const phone = await online(owner, 'phone');
    await seated(desk, voiceChannelId);
    expect((await failureOf(phone.request('voice:room:request', voiceChannelId))).code).toBe('voice_in_use');

    const heard: string[] = [];
    listener.on('voice:left', () => heard.push('left'));
    listener.on('voice:joined', () => heard.push('joined'));
    const released = nextEvent(desk, 'voice:released');
    const ownerSeenOnDesk = nextEvent(desk, 'voice:owner');
    const result = await phone.request('voice_client_takeover', {});
    expect(result.previousClientInstanceId).toBe('desk');
    expect(result.participant).toMatchObject({ userId: owner.session.id, channelId: voiceChannelId });
    expect(result.grant?.room_id).toBe(`${serverId}:${voiceChannelId}`);
    expect(await released).toEqual({ reason: 'takeover', byClientInstanceId: 'phone' });
    expect(await ownerSeenOnDesk).toEqual({ clientInstanceId: 'phone', channelId: voiceChannelId });

    // The phone now holds the seat: its state changes reach the room; the desk's are refused.
    const state = nextEvent(listener, 'voice:state');
    await phone.request('voice:state:update', { isMuted: true, isDeafened: false, isAFK: false });
    expect(await state).toMatchObject({ userId: owner.session.id, isMuted: true });
    expect((await failureOf(desk.request('voice:leave', {}))).code).toBe('not_voice_owner');
    expect(await voiceOf(listener, serverId, voiceChannelId)).toHaveLength(1);
    expect(heard).toEqual([]);
  });
});

describe('bad input on any voice event', () => {
  it('answers every malformed payload with invalid_payload and never crashes the connection', async () => {
    const { owner } = await community(0);
    const socket = await online(owner);
    for (const event of ['voice:room:request', 'voice:stream:set', 'voice:state:update']) {
      emitUntyped(socket, event, { a: { b: { c: 'd' } } }, 12);
    }
    for (const event of ['voice:leave', 'voice_client_takeover']) {
      expect((await failureOf(socket.request(event as 'voice:leave', 12 as never))).code).toBe('invalid_payload');
    }
    expect((await failureOf(socket.request('voice:leave', { extra: true } as never))).code).toBe('not_voice_owner');
    expect(socket.connected).toBe(true);
  });
});
