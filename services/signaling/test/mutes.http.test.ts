import type { ParleySocket } from '@parley/client';
import type { Member, Page } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communityFixtures, idOf } from './support/community-fixtures.ts';
import { serversApi } from './support/rest.ts';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { connect, nextEvent } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({
    RATE_LIMIT_AUTH: '1000/1m',
    RATE_LIMIT_CHAT_SEND: '1000/10s',
    RATE_LIMIT_CHAT_FETCH: '1000/10s',
    // A test here stands in for time passing by rewriting a member row, which no pod is told of;
    // a cached timed mute runs out by the clock (channel-access.service.test.ts).
    ACCESS_CACHE_TTL_MS: '0',
  });
});
afterAll(() => node.stop());

const { api, auditOf } = serversApi(() => node);
const { staffedCommunity, memberRow } = communityFixtures(() => node);

async function sendAck(socket: ParleySocket, channelId: string, text: string) {
  return socket.socket.timeout(5000).emitWithAck('chat:send', { conversationId: channelId, text });
}

describe('server mute', () => {
  it('blocks chat:send with muted until unmuted; members hear server:member_updated; audited', async () => {
    const c = await staffedCommunity();
    const [target, watcher] = await Promise.all([connect(node.url, c.member), connect(node.url, c.member2)]);
    const path = `/${c.serverId}/members/${idOf(c.member)}`;
    expect(await sendAck(target, c.channelId, 'before')).toMatchObject({ ok: true });

    const heard = nextEvent(watcher, 'server:member_updated');
    const muted = await api<Member>(c.mod, 'PUT', path, { muted: true });
    expect(muted).toMatchObject({ status: 200, body: { muted: true, mutedUntil: null } });
    expect(await heard).toEqual({ serverId: c.serverId, member: muted.body });
    const counts = await rowCounts(node.database);
    expect(await sendAck(target, c.channelId, 'while muted')).toMatchObject({ ok: false, error: { code: 'muted' } });
    expect(await rowCounts(node.database)).toEqual(counts);

    expect((await api<Member>(c.mod, 'PUT', path, { muted: false })).body).toMatchObject({ muted: false, mutedUntil: null });
    expect(await sendAck(target, c.channelId, 'after')).toMatchObject({ ok: true });
    expect(await auditOf(c.serverId)).toMatchObject([
      { action: 'member.mute', actor_id: idOf(c.mod), target_user_id: idOf(c.member), details: { until: null } },
      { action: 'member.unmute', actor_id: idOf(c.mod), target_user_id: idOf(c.member), details: { until: null } },
    ]);
    target.close();
    watcher.close();
  });

  it('a timed mute ends by itself once muted_until has passed', async () => {
    const c = await staffedCommunity();
    const socket = await connect(node.url, c.member);
    const started = Date.now();
    const muted = await api<Member>(c.mod, 'PUT', `/${c.serverId}/members/${idOf(c.member)}`, { muted: true, muteDurationMs: 60_000 });
    const finished = Date.now();
    const until = Date.parse(muted.body.mutedUntil!);
    expect(until).toBeGreaterThanOrEqual(started + 60_000);
    expect(until).toBeLessThanOrEqual(finished + 60_000);
    expect((await memberRow(c.serverId, c.member)).muted_until?.getTime()).toBe(until);
    expect((await auditOf(c.serverId))[0]).toMatchObject({ action: 'member.mute', details: { until: muted.body.mutedUntil } });
    expect(await sendAck(socket, c.channelId, 'muted')).toMatchObject({ ok: false, error: { code: 'muted' } });

    await node.database.db
      .updateTable('members')
      .set({ muted_until: new Date(Date.now() - 1000) })
      .where('server_id', '=', c.serverId)
      .where('user_id', '=', idOf(c.member))
      .execute();
    expect(await sendAck(socket, c.channelId, 'free again')).toMatchObject({ ok: true });
    const { body } = await api<Page<Member>>(c.member, 'GET', `/${c.serverId}/members`);
    expect(body.items.find((member) => member.userId === idOf(c.member))).toMatchObject({ muted: false, mutedUntil: null });
    socket.close();
  });
});
