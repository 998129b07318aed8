import type { Ban, Page } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { communityFixtures, idOf, UNKNOWN_ID } from './support/community-fixtures.ts';
import { serversApi } from './support/rest.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { collectMessages, connect, nextEvent, registerUser } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', RATE_LIMIT_CHAT_SEND: '1000/10s', RATE_LIMIT_CHAT_FETCH: '1000/10s' });
});
afterAll(() => node.stop());

const { api, expectRefused, auditOf } = serversApi(() => node);
const { staffedCommunity, memberRow, memberCount } = communityFixtures(() => node);

describe('kick', () => {
  it('an admin kicks a moderator: 204, the membership ends and its roles go, audited', async () => {
    const c = await staffedCommunity();
    expect(await memberCount(c.serverId)).toBe(6);
    expect(await api(c.admin, 'DELETE', `/${c.serverId}/members/${idOf(c.mod)}`)).toEqual({ status: 204, body: undefined });

    expect((await memberRow(c.serverId, c.mod)).active).toBe(false);
    expect(await memberCount(c.serverId)).toBe(5);
    const roles = await node.database.db.selectFrom('member_roles').selectAll().where('user_id', '=', idOf(c.mod)).execute();
    expect(roles).toEqual([]);
    expect(await auditOf(c.serverId)).toMatchObject([{ action: 'member.kick', actor_id: idOf(c.admin), target_user_id: idOf(c.mod) }]);
    // Kicking again: no longer a member.
    await expectRefused(() => api(c.admin, 'DELETE', `/${c.serverId}/members/${idOf(c.mod)}`), 404, 'member_not_found');
  });

  it('takes the kicked user’s sockets out of the community; the others keep chatting', async () => {
    const c = await staffedCommunity();
    const [kicked, stays, ownerSocket] = await Promise.all([
      connect(node.url, c.member),
      connect(node.url, c.member2),
      connect(node.url, c.owner),
    ]);
    const kickedMessages = collectMessages(kicked);
    const removed = nextEvent(kicked, 'server:removed');
    const left = nextEvent(stays, 'server:member_left');

    expect((await api(c.mod, 'DELETE', `/${c.serverId}/members/${idOf(c.member)}`)).status).toBe(204);
    expect(await removed).toEqual({ serverId: c.serverId, reason: 'kicked' });
    expect(await left).toEqual({ serverId: c.serverId, userId: idOf(c.member), reason: 'kicked' });

    const delivered = nextEvent(stays, 'chat:new');
    await ownerSocket.request('chat:send', { conversationId: c.channelId, text: 'after the kick' });
    expect((await delivered).text).toBe('after the kick');
    // This ack travels the kicked socket's connection after any chat:new sent to it before.
    await expect(kicked.request('chat:fetch', { conversationId: c.channelId })).rejects.toMatchObject({ code: 'not_a_member' });
    expect(kickedMessages).toEqual([]);
    for (const socket of [kicked, stays, ownerSocket]) socket.close();
  });
});

describe('bans', () => {
  it('bans a member with a reason and an expiry, removes them and purges their messages in this community only', async () => {
    const c = await staffedCommunity();
    const elsewhere = await c.owner.http.createServer({ name: 'unrelated' });
    await addMember(node.database, elsewhere.id, idOf(c.member));
    const [target, bystander] = await Promise.all([connect(node.url, c.member), connect(node.url, c.member2)]);
    const own = [
      (await target.request('chat:send', { conversationId: c.channelId, text: 'spam 1' })).message.id,
      (await target.request('chat:send', { conversationId: c.channelId, text: 'spam 2' })).message.id,
    ];
    const kept = [
      (await target.request('chat:send', { conversationId: elsewhere.channels[0]!.id, text: 'elsewhere' })).message.id,
      (await bystander.request('chat:send', { conversationId: c.channelId, text: 'innocent' })).message.id,
    ];
    const removed = nextEvent(target, 'server:removed');

    const started = Date.now();
    const response = await api<Ban>(c.mod, 'POST', `/${c.serverId}/bans`, {
      userId: idOf(c.member),
      reason: ' spamming ',
      expiresInMs: 3_600_000,
      purge: true,
      bannedBy: idOf(c.owner),
      actorId: idOf(c.owner),
    });
    const finished = Date.now();

    expect(response).toMatchObject({
      status: 201,
      body: { serverId: c.serverId, userId: idOf(c.member), username: c.member.session.username, reason: 'spamming', bannedBy: idOf(c.mod) },
    });
    const row = await node.database.db.selectFrom('bans').selectAll().where('server_id', '=', c.serverId).executeTakeFirstOrThrow();
    expect(row.banned_by).toBe(idOf(c.mod));
    expect(row.expires_at!.getTime()).toBeGreaterThanOrEqual(started + 3_600_000);
    expect(row.expires_at!.getTime()).toBeLessThanOrEqual(finished + 3_600_000);
    expect(response.body.expiresAt).toBe(row.expires_at!.toISOString());

    expect(await removed).toEqual({ serverId: c.serverId, reason: 'banned' });
    expect((await memberRow(c.serverId, c.member)).active).toBe(false);
    const messages = await node.database.db
      .selectFrom('messages')
      .select(['id', 'deleted_at'])
      .where('id', 'in', [...own, ...kept])
      .execute();
    const deleted = (id: string) => messages.find((message) => message.id === id)?.deleted_at !== null;
    expect(own.map(deleted)).toEqual([true, true]);
    expect(kept.map(deleted)).toEqual([false, false]);
    const history = await bystander.request('chat:fetch', { conversationId: c.channelId });
    expect(history.items.map((message) => message.text)).toEqual(['innocent']);

    expect(await auditOf(c.serverId)).toMatchObject([
      {
        action: 'member.ban',
        actor_id: idOf(c.mod),
        target_user_id: idOf(c.member),
        details: { reason: 'spamming', expiresAt: response.body.expiresAt, purged: 2 },
      },
    ]);
    const list = await api<Page<Ban>>(c.mod, 'GET', `/${c.serverId}/bans`);
    expect(list.body).toEqual({ items: [response.body], nextCursor: null });
    target.close();
    bystander.close();
  });

  it('bans a non-member pre-emptively; unban lifts it once', async () => {
    const c = await staffedCommunity();
    const stranger = await registerUser(node.url);
    const banned = await api<Ban>(c.mod, 'POST', `/${c.serverId}/bans`, { userId: idOf(stranger) });
    expect(banned).toMatchObject({ status: 201, body: { userId: idOf(stranger), reason: null, expiresAt: null } });
    expect(await memberCount(c.serverId)).toBe(6);

    expect(await api(c.mod, 'DELETE', `/${c.serverId}/bans/${idOf(stranger)}`)).toEqual({ status: 204, body: undefined });
    expect((await api<Page<Ban>>(c.mod, 'GET', `/${c.serverId}/bans`)).body.items).toEqual([]);
    await expectRefused(() => api(c.mod, 'DELETE', `/${c.serverId}/bans/${idOf(stranger)}`), 404, 'ban_not_found');
    expect((await auditOf(c.serverId)).map((entry) => [entry.action, entry.target_user_id])).toEqual([
      ['member.ban', idOf(stranger)],
      ['member.unban', idOf(stranger)],
    ]);
  });

  it('an expired ban is no longer listed nor liftable', async () => {
    const c = await staffedCommunity();
    await api(c.mod, 'POST', `/${c.serverId}/bans`, { userId: idOf(c.member), expiresInMs: 1000 });
    await api(c.mod, 'POST', `/${c.serverId}/bans`, { userId: idOf(c.member2) });
    expect((await api<Page<Ban>>(c.mod, 'GET', `/${c.serverId}/bans`)).body.items).toHaveLength(2);

    await node.database.db
      .updateTable('bans')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('server_id', '=', c.serverId)
      .where('user_id', '=', idOf(c.member))
      .execute();
    const list = await api<Page<Ban>>(c.mod, 'GET', `/${c.serverId}/bans`);
    expect(list.body.items.map((ban) => ban.userId)).toEqual([idOf(c.member2)]);
    await expectRefused(() => api(c.mod, 'DELETE', `/${c.serverId}/bans/${idOf(c.member)}`), 404, 'ban_not_found');
  });

  it('pages bans newest first, each exactly once', async () => {
    const c = await staffedCommunity();
    for (const user of [c.member, c.member2, c.mod2]) await api(c.admin, 'POST', `/${c.serverId}/bans`, { userId: idOf(user) });
    const all = (await api<Page<Ban>>(c.admin, 'GET', `/${c.serverId}/bans`)).body.items;
    const createdAt = all.map((ban) => Date.parse(ban.createdAt));
    expect(createdAt).toEqual([...createdAt].sort((a, b) => b - a));
    expect(new Set(all.map((ban) => ban.userId))).toEqual(new Set([c.member, c.member2, c.mod2].map(idOf)));

    const first = await api<Page<Ban>>(c.admin, 'GET', `/${c.serverId}/bans?limit=2`);
    expect(first.body.items).toEqual(all.slice(0, 2));
    const second = await api<Page<Ban>>(c.admin, 'GET', `/${c.serverId}/bans?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({ items: all.slice(2), nextCursor: null });
  });

  it('refuses unknown users and bad bodies, writing nothing', async () => {
    const c = await staffedCommunity();
    const ban = (body: unknown) => () => api(c.admin, 'POST', `/${c.serverId}/bans`, body);
    await expectRefused(ban({ userId: UNKNOWN_ID }), 404, 'member_not_found');
    await expectRefused(ban({ userId: idOf(c.member), reason: 'r'.repeat(501) }), 400, 'invalid_payload');
    await expectRefused(ban({ userId: idOf(c.member), expiresInMs: 10 }), 400, 'invalid_payload');
    await expectRefused(ban({ userId: idOf(c.member), expiresInMs: '1000' }), 400, 'invalid_payload');
    await expectRefused(ban({ userId: idOf(c.member), purge: 'yes' }), 400, 'invalid_payload');
    await expectRefused(ban({ userId: 42 }), 400, 'invalid_payload');
    await expectRefused(ban({ userId: 'not-a-uuid' }), 400, 'invalid_payload');
    await expectRefused(ban({}), 400, 'invalid_payload');
    await expectRefused(ban('{"userId":'), 400, 'invalid_json');
  });
});
