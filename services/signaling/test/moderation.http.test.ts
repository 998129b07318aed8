import type { ParleySocket } from '@parley/client';
import type { AuditEntry, Ban, BuiltinRole, Member, Page } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { collectMessages, connect, nextEvent, registerUser, type TestUser } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', RATE_LIMIT_CHAT_SEND: '1000/10s', RATE_LIMIT_CHAT_FETCH: '1000/10s' });
});
afterAll(() => node.stop());

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

interface Community {
  serverId: string;
  channelId: string;
  owner: TestUser;
  admin: TestUser;
  mod: TestUser;
  mod2: TestUser;
  member: TestUser;
  member2: TestUser;
}

/** A fresh community: an owner, then (in this join order) an admin, two moderators and two plain members. */
async function community(): Promise<Community> {
  const [owner, admin, mod, mod2, member, member2] = await Promise.all(
    Array.from({ length: 6 }, () => registerUser(node.url)),
  );
  const server = await owner!.http.createServer({ name: 'moderated' });
  const ranks: Array<[TestUser, BuiltinRole[]]> = [
    [admin!, ['admin']],
    [mod!, ['moderator']],
    [mod2!, ['moderator']],
    [member!, []],
    [member2!, []],
  ];
  for (const [user, roles] of ranks) await addMember(node.database, server.id, user.session.id, { roles });
  return {
    serverId: server.id,
    channelId: server.channels[0]!.id,
    owner: owner!,
    admin: admin!,
    mod: mod!,
    mod2: mod2!,
    member: member!,
    member2: member2!,
  };
}

async function api<T = { error?: { code: string } }>(
  user: TestUser | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${node.url}/api/servers${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(user ? { Authorization: `Bearer ${user.session.token}` } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const idOf = (user: TestUser) => user.session.id;
const failure = (status: number, code: string) => ({ status, body: { error: { code } } });

async function roleId(serverId: string, builtin: BuiltinRole): Promise<string> {
  const row = await node.database.db
    .selectFrom('roles')
    .select('id')
    .where('server_id', '=', serverId)
    .where('builtin', '=', builtin)
    .executeTakeFirstOrThrow();
  return row.id;
}

async function memberRow(serverId: string, user: TestUser) {
  return node.database.db
    .selectFrom('members')
    .selectAll()
    .where('server_id', '=', serverId)
    .where('user_id', '=', idOf(user))
    .executeTakeFirstOrThrow();
}

async function memberCount(serverId: string): Promise<number> {
  const row = await node.database.db.selectFrom('servers').select('member_count').where('id', '=', serverId).executeTakeFirstOrThrow();
  return row.member_count;
}

async function auditOf(serverId: string) {
  return node.database.db
    .selectFrom('audit_log')
    .selectAll()
    .where('server_id', '=', serverId)
    .where('action', '!=', 'server.create')
    .orderBy('id')
    .execute();
}

/** Everything a moderation request could write. */
async function snapshot() {
  const db = node.database.db;
  const [counts, servers, members, memberRoles, bans, audit, deleted] = await Promise.all([
    rowCounts(node.database),
    db.selectFrom('servers').select(['id', 'member_count']).orderBy('id').execute(),
    db.selectFrom('members').selectAll().orderBy('server_id').orderBy('user_id').execute(),
    db.selectFrom('member_roles').selectAll().orderBy('server_id').orderBy('user_id').orderBy('role_id').execute(),
    db.selectFrom('bans').selectAll().orderBy('server_id').orderBy('user_id').execute(),
    db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
    db.selectFrom('messages').select('id').where('deleted_at', 'is not', null).orderBy('id').execute(),
  ]);
  return { counts, servers, members, memberRoles, bans, audit: audit.count, deleted };
}

/** Expects the request to fail with `status` and `code` and to write nothing. */
async function expectRefused(request: () => Promise<{ status: number; body: unknown }>, status: number, code: string) {
  const before = await snapshot();
  const { status: actual, body } = await request();
  expect({ status: actual, body }).toMatchObject(failure(status, code));
  expect(await snapshot()).toEqual(before);
}

async function sendAck(socket: ParleySocket, channelId: string, text: string) {
  return socket.socket.timeout(5000).emitWithAck('chat:send', { conversationId: channelId, text });
}

describe('permissions and rank', () => {
  it('a plain member may not kick, ban, mute, assign roles or rename others (forbidden)', async () => {
    const c = await community();
    const member2 = idOf(c.member2);
    await expectRefused(() => api(c.member, 'DELETE', `/${c.serverId}/members/${member2}`), 403, 'forbidden');
    await expectRefused(() => api(c.member, 'POST', `/${c.serverId}/bans`, { userId: member2 }), 403, 'forbidden');
    await expectRefused(() => api(c.member, 'DELETE', `/${c.serverId}/bans/${member2}`), 403, 'forbidden');
    await expectRefused(() => api(c.member, 'GET', `/${c.serverId}/bans`), 403, 'forbidden');
    await expectRefused(() => api(c.member, 'GET', `/${c.serverId}/audit-log`), 403, 'forbidden');
    await expectRefused(() => api(c.member, 'PUT', `/${c.serverId}/members/${member2}`, { muted: true }), 403, 'forbidden');
    await expectRefused(() => api(c.member, 'PUT', `/${c.serverId}/members/${member2}`, { nickname: 'x' }), 403, 'forbidden');
    const roleIds = [await roleId(c.serverId, 'member')];
    await expectRefused(() => api(c.member, 'PUT', `/${c.serverId}/members/${member2}`, { roleIds }), 403, 'forbidden');
  });

  it('a moderator cannot assign roles (no manage_roles): forbidden', async () => {
    const c = await community();
    const roleIds = [await roleId(c.serverId, 'member'), await roleId(c.serverId, 'guest')];
    await expectRefused(() => api(c.mod, 'PUT', `/${c.serverId}/members/${idOf(c.member)}`, { roleIds }), 403, 'forbidden');
  });

  it('acting on a member needs a strictly higher rank: moderator vs admin or moderator, anyone vs the owner', async () => {
    const c = await community();
    const cases: Array<[TestUser, TestUser]> = [
      [c.mod, c.admin],
      [c.mod, c.mod2],
      [c.admin, c.owner],
      [c.mod, c.owner],
    ];
    for (const [actor, target] of cases) {
      const path = `/${c.serverId}/members/${idOf(target)}`;
      await expectRefused(() => api(actor, 'DELETE', path), 403, 'insufficient_rank');
      await expectRefused(() => api(actor, 'PUT', path, { muted: true }), 403, 'insufficient_rank');
      await expectRefused(() => api(actor, 'PUT', path, { nickname: 'renamed' }), 403, 'insufficient_rank');
      await expectRefused(() => api(actor, 'POST', `/${c.serverId}/bans`, { userId: idOf(target) }), 403, 'insufficient_rank');
    }
    const roleIds = [await roleId(c.serverId, 'member')];
    await expectRefused(() => api(c.admin, 'PUT', `/${c.serverId}/members/${idOf(c.owner)}`, { roleIds }), 403, 'insufficient_rank');
  });

  it('nobody mutes, kicks or bans themselves; not even the owner can be muted', async () => {
    const c = await community();
    const self = (user: TestUser) => `/${c.serverId}/members/${idOf(user)}`;
    await expectRefused(() => api(c.mod, 'PUT', self(c.mod), { muted: true }), 403, 'insufficient_rank');
    await expectRefused(() => api(c.owner, 'PUT', self(c.owner), { muted: true }), 403, 'insufficient_rank');
    await expectRefused(() => api(c.mod, 'DELETE', self(c.mod)), 403, 'forbidden');
    await expectRefused(() => api(c.owner, 'POST', `/${c.serverId}/bans`, { userId: idOf(c.owner) }), 403, 'forbidden');
  });

  it('an admin kicks a moderator: 204, the membership ends and its roles go, audited', async () => {
    const c = await community();
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

  it('roles: only those ranked strictly below the actor may be added or removed, on others and on oneself', async () => {
    const c = await community();
    const [admin, moderator, member, guest] = await Promise.all([
      roleId(c.serverId, 'admin'),
      roleId(c.serverId, 'moderator'),
      roleId(c.serverId, 'member'),
      roleId(c.serverId, 'guest'),
    ]);
    const senior = await node.database.db
      .insertInto('roles')
      .values({ server_id: c.serverId, name: 'Senior', rank: 950, permissions: [] })
      .returning('id')
      .executeTakeFirstOrThrow();
    const put = (actor: TestUser, target: TestUser, roleIds: string[]) =>
      api<Member>(actor, 'PUT', `/${c.serverId}/members/${idOf(target)}`, { roleIds });

    await expectRefused(() => put(c.admin, c.member, [member, admin]), 403, 'insufficient_rank');
    await expectRefused(() => put(c.admin, c.member, [member, senior.id]), 403, 'insufficient_rank');
    // Removing one's own admin role is changing a role at one's own rank.
    await expectRefused(() => put(c.admin, c.admin, [member]), 403, 'insufficient_rank');

    const promoted = await put(c.admin, c.member, [member, moderator]);
    expect(promoted.status).toBe(200);
    expect(promoted.body.roleIds.sort()).toEqual([member, moderator].sort());
    // Adding a lower role to oneself is allowed; the admin role (own rank) is kept unchanged.
    expect((await put(c.admin, c.admin, [admin, member, guest])).status).toBe(200);
    // The owner outranks every role.
    expect((await put(c.owner, c.member2, [senior.id])).body.roleIds).toEqual([senior.id]);

    expect(await auditOf(c.serverId)).toMatchObject([
      {
        action: 'member.update',
        target_user_id: idOf(c.member),
        details: { fields: ['roleIds'], addedRoleIds: [moderator], removedRoleIds: [] },
      },
      { action: 'member.update', target_user_id: idOf(c.admin), details: { addedRoleIds: [guest], removedRoleIds: [] } },
      { action: 'member.update', target_user_id: idOf(c.member2), details: { addedRoleIds: [senior.id], removedRoleIds: [member] } },
    ]);
  });

  it('roles of another community, or unknown ones: role_not_found', async () => {
    const c = await community();
    const other = await c.owner.http.createServer({ name: 'elsewhere' });
    const foreign = await roleId(other.id, 'guest');
    const member = await roleId(c.serverId, 'member');
    const path = `/${c.serverId}/members/${idOf(c.member)}`;
    await expectRefused(() => api(c.owner, 'PUT', path, { roleIds: [member, foreign] }), 404, 'role_not_found');
    await expectRefused(() => api(c.owner, 'PUT', path, { roleIds: [UNKNOWN_ID] }), 404, 'role_not_found');
  });

  it('nicknames: oneself with change_nickname, others with manage_nicknames and a higher rank', async () => {
    const c = await community();
    const path = (user: TestUser) => `/${c.serverId}/members/${idOf(user)}`;
    const own = await api<Member>(c.member, 'PUT', path(c.member), { nickname: '  Me  ' });
    expect(own).toMatchObject({ status: 200, body: { userId: idOf(c.member), nickname: 'Me' } });
    expect((await api<Member>(c.mod, 'PUT', path(c.member), { nickname: 'Renamed' })).body.nickname).toBe('Renamed');
    expect((await api<Member>(c.mod, 'PUT', path(c.member), { nickname: null })).body.nickname).toBeNull();
    await expectRefused(() => api(c.member2, 'PUT', path(c.member), { nickname: 'x' }), 403, 'forbidden');

    // A guest (member role replaced) lacks change_nickname.
    await api(c.owner, 'PUT', path(c.member2), { roleIds: [await roleId(c.serverId, 'guest')] });
    await expectRefused(() => api(c.member2, 'PUT', path(c.member2), { nickname: 'x' }), 403, 'forbidden');
  });

  it('a request with one refused field changes none of them', async () => {
    const c = await community();
    const roleIds = [await roleId(c.serverId, 'admin')];
    await expectRefused(
      () => api(c.admin, 'PUT', `/${c.serverId}/members/${idOf(c.member)}`, { nickname: 'ok', muted: true, roleIds }),
      403,
      'insufficient_rank',
    );
    await expectRefused(
      () => api(c.mod, 'PUT', `/${c.serverId}/members/${idOf(c.member)}`, { nickname: 'ok', muted: true, roleIds: [] }),
      403,
      'forbidden',
    );
  });
});

describe('role changes', () => {
  it('move the member’s connections into, and out of, the channels their roles may view', async () => {
    const c = await community();
    const [memberRole, moderatorRole] = await Promise.all([roleId(c.serverId, 'member'), roleId(c.serverId, 'moderator')]);
    const db = node.database.db;
    const hidden = await db
      .insertInto('channels')
      .values({ server_id: c.serverId, name: 'moderators', type: 'text', position: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('channel_overrides')
      .values([
        { channel_id: hidden.id, role_id: memberRole, allow: [], deny: ['view_channels'] },
        { channel_id: hidden.id, role_id: moderatorRole, allow: ['view_channels'], deny: [] },
      ])
      .execute();
    const [socket, ownerSocket] = await Promise.all([connect(node.url, c.member), connect(node.url, c.owner)]);
    const received = collectMessages(socket);
    /** Sends to the hidden channel; true when the member's socket got it (its own ack comes after any such delivery). */
    const reaches = async (text: string) => {
      const before = received.length;
      await ownerSocket.request('chat:send', { conversationId: hidden.id, text });
      await socket.request('chat:fetch', { conversationId: c.channelId, limit: 1 });
      return received.length > before;
    };
    /** The room refresh runs after the response: retry until the member's delivery matches `expected`. */
    const settlesTo = async (expected: boolean) => {
      for (let attempt = 0; attempt < 50; attempt++) if ((await reaches(`attempt ${attempt}`)) === expected) return true;
      return false;
    };
    const path = `/${c.serverId}/members/${idOf(c.member)}`;

    expect(await reaches('before')).toBe(false);
    expect((await api(c.owner, 'PUT', path, { roleIds: [memberRole, moderatorRole] })).status).toBe(200);
    expect(await settlesTo(true)).toBe(true);
    expect((await api(c.owner, 'PUT', path, { roleIds: [memberRole] })).status).toBe(200);
    expect(await settlesTo(false)).toBe(true);
    socket.close();
    ownerSocket.close();
  });
});

describe('server mute', () => {
  it('blocks chat:send with muted until unmuted; members hear server:member_updated; audited', async () => {
    const c = await community();
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
    const c = await community();
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

describe('kick', () => {
  it('takes the kicked user’s sockets out of the community; the others keep chatting', async () => {
    const c = await community();
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
    const c = await community();
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
    const c = await community();
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
    const c = await community();
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
    const c = await community();
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
    const c = await community();
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

describe('member list', () => {
  it('pages through every member exactly once, in join order', async () => {
    const c = await community();
    const expected = [c.owner, c.admin, c.mod, c.mod2, c.member, c.member2].map(idOf);
    const seen: Member[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page: { status: number; body: Page<Member> } = await api<Page<Member>>(c.member, 'GET', `/${c.serverId}/members${query}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen.map((member) => member.userId)).toEqual(expected);
    expect(pages).toBe(3);
    expect(seen[0]).toMatchObject({ serverId: c.serverId, isOwner: true, username: c.owner.session.username, muted: false });
    expect(seen[2]!.roleIds.sort()).toEqual([await roleId(c.serverId, 'member'), await roleId(c.serverId, 'moderator')].sort());
  });

  it('is for members only; unknown, malformed and foreign ids answer 404', async () => {
    const c = await community();
    const outsider = await registerUser(node.url);
    expect(await api(outsider, 'GET', `/${c.serverId}/members`)).toMatchObject(failure(403, 'not_a_member'));
    expect(await api(c.member, 'GET', `/${UNKNOWN_ID}/members`)).toMatchObject(failure(404, 'server_not_found'));
    expect(await api(c.member, 'GET', '/not-a-server/members')).toMatchObject(failure(404, 'server_not_found'));
    expect(await api(c.member, 'GET', `/${c.serverId}/members?cursor=garbage`)).toMatchObject(failure(400, 'invalid_payload'));
    expect(await api(c.member, 'GET', `/${c.serverId}/members?limit=0`)).toMatchObject(failure(400, 'invalid_payload'));
    expect(await api(undefined, 'GET', `/${c.serverId}/members`)).toMatchObject(failure(401, 'auth_required'));
  });
});

describe('audit log', () => {
  it('lists the actions newest first with actor and target, in pages, to view_audit_log holders', async () => {
    const c = await community();
    const member = (user: TestUser) => `/${c.serverId}/members/${idOf(user)}`;
    await api(c.mod, 'PUT', member(c.member), { nickname: 'Nick' });
    await api(c.mod, 'PUT', member(c.member), { muted: true, muteDurationMs: 5000 });
    await api(c.mod, 'DELETE', member(c.member2));
    await api(c.admin, 'POST', `/${c.serverId}/bans`, { userId: idOf(c.mod2), reason: 'rude' });
    await api(c.admin, 'DELETE', `/${c.serverId}/bans/${idOf(c.mod2)}`);

    const entries: AuditEntry[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page: { body: Page<AuditEntry> } = await api<Page<AuditEntry>>(c.mod, 'GET', `/${c.serverId}/audit-log${query}`);
      entries.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(entries.map((entry) => [entry.action, entry.actorId, entry.targetUserId])).toEqual([
      ['member.unban', idOf(c.admin), idOf(c.mod2)],
      ['member.ban', idOf(c.admin), idOf(c.mod2)],
      ['member.kick', idOf(c.mod), idOf(c.member2)],
      ['member.mute', idOf(c.mod), idOf(c.member)],
      ['member.update', idOf(c.mod), idOf(c.member)],
      ['server.create', idOf(c.owner), null],
    ]);
    expect(entries[4]!.details).toEqual({ fields: ['nickname'], nickname: 'Nick' });
    expect(entries[1]!.details).toMatchObject({ reason: 'rude', expiresAt: null, purged: 0 });
    expect(entries.every((entry) => entry.serverId === c.serverId)).toBe(true);
  });
});

describe('bad input writes nothing', () => {
  it('unknown, malformed and foreign path ids answer the 404 of what they name', async () => {
    const c = await community();
    const other = await community();
    const foreigner = `/${c.serverId}/members/${idOf(other.member)}`;
    await expectRefused(() => api(c.owner, 'PUT', `/${c.serverId}/members/${UNKNOWN_ID}`, { nickname: 'x' }), 404, 'member_not_found');
    await expectRefused(() => api(c.owner, 'PUT', `/${c.serverId}/members/nope`, { nickname: 'x' }), 404, 'member_not_found');
    await expectRefused(() => api(c.owner, 'PUT', foreigner, { nickname: 'x' }), 404, 'member_not_found');
    await expectRefused(() => api(c.owner, 'DELETE', foreigner), 404, 'member_not_found');
    await expectRefused(() => api(c.owner, 'DELETE', `/${c.serverId}/members/1`), 404, 'member_not_found');
    await expectRefused(() => api(c.owner, 'DELETE', `/${c.serverId}/bans/nope`), 404, 'ban_not_found');
    await expectRefused(() => api(c.owner, 'DELETE', `/${c.serverId}/bans/${idOf(c.member)}`), 404, 'ban_not_found');
    await expectRefused(() => api(c.owner, 'DELETE', `/${UNKNOWN_ID}/members/${idOf(c.member)}`), 404, 'server_not_found');
    await expectRefused(() => api(c.owner, 'POST', '/nope/bans', { userId: idOf(c.member) }), 404, 'server_not_found');
    await expectRefused(() => api(c.owner, 'GET', '/nope/audit-log'), 404, 'server_not_found');
    // The owner of one community is nobody in another.
    await expectRefused(() => api(c.owner, 'DELETE', `/${other.serverId}/members/${idOf(other.member)}`), 403, 'not_a_member');
  });

  it('ids in the body do not change who acts', async () => {
    const c = await community();
    const forged = { nickname: 'x', actorId: idOf(c.owner), userId: idOf(c.owner), serverId: c.serverId };
    await expectRefused(() => api(c.member, 'PUT', `/${c.serverId}/members/${idOf(c.member2)}`, forged), 403, 'forbidden');
    await expectRefused(
      () => api(c.member, 'POST', `/${c.serverId}/bans`, { userId: idOf(c.member2), actorId: idOf(c.owner), bannedBy: idOf(c.owner) }),
      403,
      'forbidden',
    );
  });

  describe('PUT member with a malformed body: 400 invalid_payload', () => {
    let c: Community;
    beforeAll(async () => {
      c = await community();
    });

    it.each([
    ['an empty change', {}],
    ['a numeric nickname', { nickname: 42 }],
    ['an oversized nickname', { nickname: 'n'.repeat(33) }],
    ['a blank nickname', { nickname: '   ' }],
    ['a string muted', { muted: 'yes' }],
    ['muteDurationMs without muted', { muteDurationMs: 5000 }],
    ['a too short mute', { muted: true, muteDurationMs: 5 }],
    ['roleIds that is not an array', { roleIds: 'admin' }],
    ['a repeated role', { roleIds: [UNKNOWN_ID, UNKNOWN_ID] }],
    ['a malformed role id', { roleIds: ['admin'] }],
  ])('%s', async (_label, body) => {
      await expectRefused(() => api(c.owner, 'PUT', `/${c.serverId}/members/${idOf(c.member)}`, body), 400, 'invalid_payload');
    });
  });
});
