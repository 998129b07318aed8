import type { ParleySocket } from '@parley/client';
import { limits } from '@parley/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { eventually, failureOf, nextEvent, OpenSockets, registerUser, type TestUser } from './support/users.ts';
import { voiceCommunity } from './support/voice.ts';

let node: TestNode;
const sockets = new OpenSockets();

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_RTC_SIGNAL: '40/10s' });
});
afterEach(() => sockets.closeAll());
afterAll(() => node?.stop());

/** A user's voice device: connected and holding the user's voice. */
async function voiceDevice(user: TestUser, clientInstanceId = 'voice'): Promise<ParleySocket> {
  const socket = await sockets.connect(node.url, user, clientInstanceId);
  await socket.request('voice_client_takeover', {});
  return socket;
}

const direct = { type: 'direct' } as const;
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

describe('WebRTC relay', () => {
  it('routes an offer to the target’s voice device only, and the answer back to the caller’s', async () => {
    const caller = await registerUser(node.url);
    const callee = await registerUser(node.url);
    const callerDevice = await voiceDevice(caller);
    const calleeOther = await sockets.connect(node.url, callee, 'tablet');
    const calleeDevice = await voiceDevice(callee, 'desk');
    let strayOffers = 0;
    calleeOther.on('offer', () => strayOffers++);

    const offer = nextEvent(calleeDevice, 'offer');
    await callerDevice.request('offer', { targetUserId: callee.session.id, scope: direct, sdp: SDP, callId: 'call-1' });
    expect(await offer).toEqual({ fromUserId: caller.session.id, fromClientInstanceId: 'voice', scope: direct, callId: 'call-1', sdp: SDP });

    const answer = nextEvent(callerDevice, 'answer');
    await calleeDevice.request('answer', { targetUserId: caller.session.id, scope: direct, sdp: SDP, callId: 'call-1' });
    expect(await answer).toMatchObject({ fromUserId: callee.session.id, fromClientInstanceId: 'desk' });

    const candidate = nextEvent(calleeDevice, 'ice_candidate');
    const ice = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    await callerDevice.request('ice_candidate', { targetUserId: callee.session.id, scope: direct, candidate: ice });
    expect((await candidate).candidate).toEqual(ice);

    const renegotiation = nextEvent(calleeDevice, 'renegotiate');
    await callerDevice.request('renegotiate', { targetUserId: callee.session.id, scope: direct, sdp: SDP });
    expect((await renegotiation).sdp).toBe(SDP);
    expect(strayOffers).toBe(0);
  });

  it('delivers one connection’s signals in the order they were sent', async () => {
    const caller = await registerUser(node.url);
    const callee = await registerUser(node.url);
    const callerDevice = await voiceDevice(caller);
    const calleeDevice = await voiceDevice(callee);
    const received: string[] = [];
    calleeDevice.on('ice_candidate', (signal) => received.push(signal.candidate.candidate));
    calleeDevice.on('offer', (signal) => received.push(signal.sdp));
    const sent = Array.from({ length: 25 }, (_, i) => (i === 0 ? SDP : i === 24 ? '' : `candidate:${i} 1 udp 1 127.0.0.1 ${50_000 + i} typ host`));
    await Promise.all(
      sent.map((text, i) =>
        i === 0
          ? callerDevice.request('offer', { targetUserId: callee.session.id, scope: direct, sdp: text })
          : callerDevice.request('ice_candidate', { targetUserId: callee.session.id, scope: direct, candidate: { candidate: text, sdpMid: '0' } }),
      ),
    );
    await eventually(() => received.length === sent.length);
    expect(received).toEqual(sent);
  });

  it('after a takeover, signals reach the new device', async () => {
    const caller = await registerUser(node.url);
    const callee = await registerUser(node.url);
    const callerDevice = await voiceDevice(caller);
    await voiceDevice(callee, 'desk');
    const phone = await voiceDevice(callee, 'phone');
    const offer = nextEvent(phone, 'offer');
    await callerDevice.request('offer', { targetUserId: callee.session.id, scope: direct, sdp: SDP });
    expect((await offer).fromUserId).toBe(caller.session.id);
  });

  it('tells the sender when the target cannot be reached, or blocked them', async () => {
    const caller = await registerUser(node.url);
    const callee = await registerUser(node.url);
    const callerDevice = await voiceDevice(caller);
    const offer = { targetUserId: callee.session.id, scope: direct, sdp: SDP };

    expect((await failureOf(callerDevice.request('offer', offer))).code).toBe('peer_unavailable');
    await sockets.connect(node.url, callee, 'not-in-voice');
    expect((await failureOf(callerDevice.request('offer', offer))).code).toBe('peer_unavailable');
    expect((await failureOf(callerDevice.request('offer', { ...offer, targetUserId: crypto.randomUUID() }))).code).toBe('peer_unavailable');

    const calleeDevice = await voiceDevice(callee);
    let received = 0;
    calleeDevice.on('offer', () => received++);
    await callee.http.block(caller.session.id);
    expect((await callee.http.listBlocks()).map((blocked) => blocked.userId)).toEqual([caller.session.id]);
    expect((await failureOf(callerDevice.request('offer', offer))).code).toBe('peer_unavailable');
    await callee.http.unblock(caller.session.id);
    const arrived = nextEvent(calleeDevice, 'offer');
    await callerDevice.request('offer', offer);
    await arrived;
    expect(received).toBe(1);
  });

  it('community-scoped signals need both users to be members', async () => {
    const { owner, serverId, members } = await voiceCommunity(node.url, node.database, 1);
    const outsider = await registerUser(node.url);
    const ownerDevice = await voiceDevice(owner);
    const memberDevice = await voiceDevice(members[0]!);
    const outsiderDevice = await voiceDevice(outsider);
    const scope = { type: 'server', serverId } as const;

    const offer = nextEvent(memberDevice, 'offer');
    await ownerDevice.request('offer', { targetUserId: members[0]!.session.id, scope, sdp: SDP });
    expect((await offer).scope).toEqual(scope);
    expect((await failureOf(ownerDevice.request('offer', { targetUserId: outsider.session.id, scope, sdp: SDP }))).code).toBe('peer_unavailable');
    expect((await failureOf(outsiderDevice.request('offer', { targetUserId: owner.session.id, scope, sdp: SDP }))).code).toBe('not_a_member');

    // A banned member is no longer a member: nothing they send in the community's name is relayed.
    await owner.http.request('POST', `/api/servers/${serverId}/bans`, { userId: members[0]!.session.id });
    expect((await failureOf(memberDevice.request('offer', { targetUserId: owner.session.id, scope, sdp: SDP }))).code).toBe('not_a_member');
  });

  it('refuses signals to oneself, from a device that is not the voice device, oversized and malformed ones', async () => {
    const caller = await registerUser(node.url);
    const callee = await registerUser(node.url);
    const callerDevice = await voiceDevice(caller, 'desk');
    const passive = await sockets.connect(node.url, caller, 'passive');
    const calleeDevice = await voiceDevice(callee);
    let received = 0;
    calleeDevice.on('offer', () => received++);
    calleeDevice.on('ice_candidate', () => received++);
    const base = { targetUserId: callee.session.id, scope: direct, sdp: SDP };

    expect((await failureOf(callerDevice.request('offer', { ...base, targetUserId: caller.session.id }))).code).toBe('invalid_target');
    expect((await failureOf(passive.request('offer', base))).code).toBe('not_voice_owner');
    const oversized = 'a'.repeat(limits.sdp.maxBytes + 1);
    const multibyte = 'é'.repeat(limits.sdp.maxBytes / 2 + 1);
    for (const bad of [
      { ...base, sdp: oversized },
      { ...base, sdp: multibyte },
      { ...base, sdp: '' },
      { ...base, targetUserId: 'not-a-uuid' },
      { ...base, scope: { type: 'server' } },
      { ...base, scope: { type: 'group' } },
      { ...base, callId: 'x'.repeat(limits.callId.max + 1) },
      { targetUserId: callee.session.id, sdp: SDP },
      null,
    ]) {
      expect((await failureOf(callerDevice.request('offer', bad as never))).code).toBe('invalid_payload');
    }
    const hugeCandidate = { candidate: 'c'.repeat(limits.iceCandidate.max + 1), sdpMid: '0', sdpMLineIndex: 0 };
    expect(
      (await failureOf(callerDevice.request('ice_candidate', { targetUserId: callee.session.id, scope: direct, candidate: hugeCandidate }))).code,
    ).toBe('invalid_payload');
    expect(received).toBe(0);
  });

  it('a flood of signals is rate limited per user', async () => {
    const caller = await registerUser(node.url);
    const callee = await registerUser(node.url);
    const callerDevice = await voiceDevice(caller);
    await voiceDevice(callee);
    const candidate = { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, () => callerDevice.request('ice_candidate', { targetUserId: callee.session.id, scope: direct, candidate })),
    );
    const refused = results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason.code);
    expect(refused).toEqual(Array.from({ length: 20 }, () => 'rate_limited'));
  });
});
