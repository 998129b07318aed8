import type { ParleyError, ParleySocket } from '@parley/client';
import type { BuiltinRole, Channel, ChatMessage, Role, ServerToClientEvents } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../src/domain/store.ts';
import { addMember } from './support/communities.ts';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { connect, registerUser, type TestUser } from './support/users.ts';

let node: TestNode;
const sockets: ParleySocket[] = [];

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', RATE_LIMIT_CHAT_SEND: '1000/10s', RATE_LIMIT_CHAT_FETCH: '1000/10s' });
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await node.stop();
});

interface Reply<T = unknown> {
  status: number;
  body: T & { error?: { code: string; message: string } };
}

async function api<T = unknown>(user: TestUser | undefined, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const response = await fetch(`${node.url}/api/servers${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(user ? { Authorization: `Bearer ${user.session.token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function socketOf(user: TestUser): Promise<ParleySocket> {
  const socket = await connect(node.url, user);
  sockets.push(socket);
  return socket;
}

/** The next `event` on the socket whose payload satisfies `match`, ignoring others. */
function eventWhere<E extends keyof ServerToClientEvents>(
  socket: ParleySocket,
  event: E,
  match: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean,
  timeoutMs = 5000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = socket.on(event, ((payload: Parameters<ServerToClientEvents[E]>[0]) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    }) as ServerToClientEvents[E]);
  });
}

/** Everything these endpoints could write, for "nothing changed" assertions. */
async function snapshot() {
  const db = node.database.db;
  const [counts, servers, channels, roles, overrides, memberRoles, audit] = await Promise.all([
    rowCounts(node.database),
    db.selectFrom('servers').selectAll().orderBy('id').execute(),
    db.selectFrom('channels').selectAll().orderBy('id').execute(),
    db.selectFrom('roles').selectAll().orderBy('id').execute(),
    db.selectFrom('channel_overrides').selectAll().orderBy('channel_id').orderBy('role_id').execute(),
    db.selectFrom('member_roles').selectAll().orderBy('server_id').orderBy('user_id').orderBy('role_id').execute(),
    db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ]);
  return { counts, servers, channels, roles, overrides, memberRoles, audit: Number(audit.count) };
}

/** Asserts that a refused request answers `status`/`code` and writes nothing. */
async function expectRefused(request: () => Promise<Reply>, status: number, code: string): Promise<void> {
  const before = await snapshot();
  const reply = await request();
  expect(reply, JSON.stringify(reply.body)).toMatchObject({ status, body: { error: { code } } });
  expect(await snapshot()).toEqual(before);
}

function auditOf(serverId: string, action: string) {
  return node.database.db
    .selectFrom('audit_log')
    .selectAll()
    .where('server_id', '=', serverId)
    .where('action', '=', action)
    .orderBy('id')
    .execute();
}

interface Community {
  id: string;
  generalId: string;
  roles: Record<BuiltinRole, string>;
}

/** A community owned by `owner` with these members (each holding `member` plus the listed built-in roles). */
async function community(owner: TestUser, members: Array<[TestUser, BuiltinRole[]]> = []): Promise<Community> {
  const server = await owner.http.createServer({ name: `Community ${Math.random().toString(36).slice(2, 8)}` });
  for (const [user, roles] of members) await addMember(node.database, server.id, user.session.id, { roles });
  const rows = await node.database.db.selectFrom('roles').select(['id', 'builtin']).where('server_id', '=', server.id).execute();
  const roles = Object.fromEntries(rows.map((row) => [row.builtin, row.id])) as Record<BuiltinRole, string>;
  return { id: server.id, generalId: server.channels[0]!.id, roles };
}

/** Gives a user a role directly, as an assignment by a moderator would. */
async function grant(serverId: string, user: TestUser, roleId: string): Promise<void> {
  await new Store(node.database.db).repos.roles.grant(serverId, user.session.id, [roleId]);
}

let owner: TestUser;
let admin: TestUser;
let moderator: TestUser;
let member: TestUser;
let outsider: TestUser;
/** The community most tests act on, and another one whose ids must not work under its URL. */
let main: Community;
let foreign: Community;

beforeAll(async () => {
  [owner, admin, moderator, member, outsider] = await Promise.all([
    registerUser(node.url),
    registerUser(node.url),
    registerUser(node.url),
    registerUser(node.url),
    registerUser(node.url),
  ]);
  main = await community(owner, [
    [admin, ['admin']],
    [moderator, ['moderator']],
    [member, []],
  ]);
  // The owner and admin of `main` are members of `foreign` too: only the URL's community counts.
  foreign = await community(outsider, [
    [owner, []],
    [admin, ['admin']],
  ]);
});

describe('PUT /api/servers/:serverId', () => {
  it('changes the settings given, ignores forged fields, tells the members and audits the field names', async () => {
    const memberSocket = await socketOf(member);
    const heard = eventWhere(memberSocket, 'server:updated', (server) => server.name === 'Renamed');
    const reply = await api(admin, 'PUT', `/${main.id}`, {
      name: '  Renamed ',
      description: 'About us',
      discoverable: true,
      maxMembers: 2,
      ownerId: admin.session.id,
      memberCount: 99,
      id: foreign.id,
    });

    const expected = {
      id: main.id,
      name: 'Renamed',
      description: 'About us',
      discoverable: true,
      // Below the 4 current members: allowed, it only stops new joins.
      maxMembers: 2,
      ownerId: owner.session.id,
      memberCount: 4,
      joinPolicy: 'invite',
    };
    expect(reply).toMatchObject({ status: 200, body: expected });
    expect(await heard).toMatchObject(expected);
    const row = await node.database.db.selectFrom('servers').selectAll().where('id', '=', main.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ name: 'Renamed', owner_id: owner.session.id, member_count: 4, max_members: 2 });
    const [entry] = (await auditOf(main.id, 'server.update')).slice(-1);
    expect(entry).toMatchObject({ actor_id: admin.session.id, details: { fields: ['name', 'description', 'discoverable', 'maxMembers'] } });
  });

  it.each([null, ''])('clears the description with %j, and lifts the member cap with null', async (description) => {
    await api(owner, 'PUT', `/${main.id}`, { description: 'Something' });
    const reply = await api(owner, 'PUT', `/${main.id}`, { description, maxMembers: null });
    expect(reply).toMatchObject({ status: 200, body: { description: null, maxMembers: null } });
  });

  it('needs a password to switch to the password policy, and stores it hashed', async () => {
    const { id } = await community(owner);
    await expectRefused(() => api(owner, 'PUT', `/${id}`, { joinPolicy: 'password' }), 400, 'invalid_payload');

    const reply = await api(owner, 'PUT', `/${id}`, { joinPolicy: 'password', password: 'open sesame' });
    expect(reply).toMatchObject({ status: 200, body: { joinPolicy: 'password' } });
    expect(JSON.stringify(reply.body)).not.toContain('open sesame');
    const row = await node.database.db.selectFrom('servers').select(['password_hash']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    const [entry] = await auditOf(id, 'server.update');
    expect(entry!.details).toEqual({ fields: ['joinPolicy', 'password'] });

    // Once stored, the password outlives a change of policy and needs no repeating.
    expect(await api(owner, 'PUT', `/${id}`, { joinPolicy: 'invite' })).toMatchObject({ status: 200 });
    expect(await api(owner, 'PUT', `/${id}`, { joinPolicy: 'password' })).toMatchObject({ status: 200 });
    const after = await node.database.db.selectFrom('servers').select(['password_hash']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(after.password_hash).toBe(row.password_hash);
  });

  it('keeps a password set without the password policy', async () => {
    const { id } = await community(owner);
    expect(await api(owner, 'PUT', `/${id}`, { password: 'for later' })).toMatchObject({ status: 200, body: { joinPolicy: 'invite' } });
    const row = await node.database.db.selectFrom('servers').select(['password_hash']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('sets and clears the icon, an https URL', async () => {
    const { id } = await community(owner);
    const icon = 'https://cdn.example.com/icons/gamers.png';
    expect(await api(owner, 'PUT', `/${id}`, { iconUrl: icon })).toMatchObject({ status: 200, body: { iconUrl: icon } });
    expect(await api(undefined, 'GET', `/${id}`)).toMatchObject({ status: 200, body: { iconUrl: icon } });
    expect(await api(owner, 'PUT', `/${id}`, { iconUrl: null })).toMatchObject({ status: 200, body: { iconUrl: null } });
  });

  it.each([
    ['a member', () => member, 403, 'forbidden'],
    ['a moderator', () => moderator, 403, 'forbidden'],
    ['a non-member', () => outsider, 403, 'not_a_member'],
  ])('refuses %s', async (_label, who, status, code) => {
    await expectRefused(() => api(who(), 'PUT', `/${main.id}`, { name: 'Taken over', password: 'hijacked' }), status, code);
  });

  it.each([
    ['an unknown community', () => `/${crypto.randomUUID()}`, 'server_not_found'],
    ['a malformed id', () => '/not-a-uuid', 'server_not_found'],
  ])('answers 404 for %s', async (_label, path, code) => {
    await expectRefused(() => api(owner, 'PUT', path(), { name: 'Anything' }), 404, code);
  });

  it.each([
    ['nothing to change', {}],
    ['only forged fields', { ownerId: crypto.randomUUID(), memberCount: 1 }],
    ['an oversized name', { name: 'n'.repeat(101) }],
    ['an empty name', { name: '   ' }],
    ['an oversized description', { description: 'd'.repeat(1001) }],
    ['an unknown join policy', { joinPolicy: 'secret' }],
    ['a short password', { password: 'abc' }],
    ['discoverable of the wrong type', { discoverable: 'yes' }],
    ['a zero member cap', { maxMembers: 0 }],
    ['a fractional member cap', { maxMembers: 2.5 }],
    ['an http icon', { iconUrl: 'http://cdn.example.com/icon.png' }],
    ['a javascript: icon', { iconUrl: 'javascript:alert(1)' }],
    ['an oversized icon URL', { iconUrl: `https://cdn.example.com/${'a'.repeat(2048)}` }],
  ])('refuses %s (400) and changes nothing', async (_label, body) => {
    await expectRefused(() => api(owner, 'PUT', `/${main.id}`, body), 400, 'invalid_payload');
  });

  it('needs a token', async () => {
    await expectRefused(() => api(undefined, 'PUT', `/${main.id}`, { name: 'Anonymous' }), 401, 'auth_required');
  });
});

describe('DELETE /api/servers/:serverId', () => {
  it('lets only the owner delete', async () => {
    const { id } = await community(owner, [
      [admin, ['admin']],
      [member, []],
    ]);
    await expectRefused(() => api(admin, 'DELETE', `/${id}`), 403, 'forbidden');
    await expectRefused(() => api(member, 'DELETE', `/${id}`), 403, 'forbidden');
    await expectRefused(() => api(outsider, 'DELETE', `/${id}`), 403, 'not_a_member');
    await expectRefused(() => api(owner, 'DELETE', `/${crypto.randomUUID()}`), 404, 'server_not_found');
  });

  it('deletes everything in it; its members hear server:removed; the deletion stays in the audit log', async () => {
    const { id, generalId } = await community(owner, [[member, ['moderator']]]);
    await api(owner, 'POST', `/${id}/roles`, { name: 'Doomed', rank: 50 });
    const memberSocket = await socketOf(member);
    const ownerSocket = await socketOf(owner);
    await ownerSocket.request('chat:send', { conversationId: generalId, text: 'last words' });
    const removed = eventWhere(memberSocket, 'server:removed', (event) => event.serverId === id);

    expect(await api(owner, 'DELETE', `/${id}`)).toMatchObject({ status: 204 });

    expect(await removed).toEqual({ serverId: id, reason: 'deleted' });
    const db = node.database.db;
    const left = await Promise.all(
      (['channels', 'roles', 'members', 'invites'] as const).map((table) =>
        db.selectFrom(table).select('server_id').where('server_id', '=', id).execute(),
      ),
    );
    expect(left.flat()).toEqual([]);
    expect(await db.selectFrom('servers').select('id').where('id', '=', id).execute()).toEqual([]);
    expect(await db.selectFrom('messages').select('id').where('channel_id', '=', generalId).execute()).toEqual([]);
    const audit = await db.selectFrom('audit_log').selectAll().where('target_id', '=', id).execute();
    expect(audit).toMatchObject([{ server_id: null, actor_id: owner.session.id, action: 'server.delete' }]);
    expect((await api(member, 'GET', `/${id}/channels`)).body.error?.code).toBe('server_not_found');
  });

  it("refuses to delete the deployment's default community", async () => {
    const { id } = await community(owner);
    await node.database.db.updateTable('servers').set({ is_default: true }).where('id', '=', id).execute();
    try {
      await expectRefused(() => api(owner, 'DELETE', `/${id}`), 403, 'forbidden');
    } finally {
      await node.database.db.updateTable('servers').set({ is_default: false }).where('id', '=', id).execute();
    }
  });
});

describe('channels', () => {
  it('lists the channels to members only', async () => {
    const reply = await api<{ items: Channel[] }>(member, 'GET', `/${main.id}/channels`);
    expect(reply.status).toBe(200);
    expect(reply.body.items).toContainEqual({
      id: main.generalId,
      serverId: main.id,
      name: 'general',
      type: 'text',
      position: 0,
      overrides: [],
    });
    expect((await api(outsider, 'GET', `/${main.id}/channels`)).body.error?.code).toBe('not_a_member');
  });

  it('creates a channel after the last one, tells the members and audits it', async () => {
    const { id } = await community(owner, [
      [admin, ['admin']],
      [member, []],
    ]);
    const memberSocket = await socketOf(member);
    const heard = eventWhere(memberSocket, 'channel:updated', (channel) => channel.name === 'lounge');

    const forged = { serverId: foreign.id, position: 40 };
    const first = await api<Channel>(admin, 'POST', `/${id}/channels`, { name: ' lounge ', type: 'voice', ...forged });
    expect(first).toMatchObject({ status: 201, body: { serverId: id, name: 'lounge', type: 'voice', position: 1, overrides: [] } });
    expect(await heard).toEqual(first.body);
    const second = await api<Channel>(admin, 'POST', `/${id}/channels`, { name: 'news', type: 'text' });
    expect(second.body.position).toBe(2);
    expect(await auditOf(id, 'channel.create')).toMatchObject([
      { actor_id: admin.session.id, target_id: first.body.id, details: { name: 'lounge', type: 'voice' } },
      { target_id: second.body.id },
    ]);
  });

  it.each([
    ['a member', () => member, 'forbidden'],
    ['a moderator', () => moderator, 'forbidden'],
    ['a non-member', () => outsider, 'not_a_member'],
  ])('refuses channel changes by %s', async (_label, who, code) => {
    await expectRefused(() => api(who(), 'POST', `/${main.id}/channels`, { name: 'mine', type: 'text' }), 403, code);
    await expectRefused(() => api(who(), 'PUT', `/${main.id}/channels/${main.generalId}`, { name: 'mine' }), 403, code);
    await expectRefused(() => api(who(), 'DELETE', `/${main.id}/channels/${main.generalId}`), 403, code);
  });

  it.each([
    ['an oversized name', { name: 'c'.repeat(101), type: 'text' }],
    ['an empty name', { name: '', type: 'text' }],
    ['an unknown type', { name: 'video', type: 'video' }],
    ['no type', { name: 'typeless' }],
    ['a name of the wrong type', { name: 42, type: 'text' }],
  ])('refuses to create one with %s', async (_label, body) => {
    await expectRefused(() => api(owner, 'POST', `/${main.id}/channels`, body), 400, 'invalid_payload');
  });

  it('stops at the channel limit', async () => {
    const { id } = await community(owner);
    const filler = Array.from({ length: 499 }, (_, index) => ({
      server_id: id,
      name: `c${index}`,
      type: 'text' as const,
      position: index + 1,
    }));
    await node.database.db.insertInto('channels').values(filler).execute();
    await expectRefused(() => api(owner, 'POST', `/${id}/channels`, { name: 'one too many', type: 'text' }), 409, 'limit_reached');
  });

  it('renames and moves a channel, tells the members and audits it', async () => {
    const created = await api<Channel>(owner, 'POST', `/${main.id}/channels`, { name: 'draft', type: 'text' });
    const memberSocket = await socketOf(member);
    const heard = eventWhere(memberSocket, 'channel:updated', (channel) => channel.name === 'final');

    const reply = await api(admin, 'PUT', `/${main.id}/channels/${created.body.id}`, { name: 'final', position: 0, type: 'voice' });
    expect(reply).toMatchObject({ status: 200, body: { id: created.body.id, name: 'final', position: 0, type: 'text' } });
    expect(await heard).toEqual(reply.body);
    expect(await auditOf(main.id, 'channel.update')).toMatchObject([
      { actor_id: admin.session.id, target_id: created.body.id, details: { name: 'final', position: 0 } },
    ]);
  });

  it.each([
    ['nothing to change', {}],
    ['an oversized name', { name: 'c'.repeat(101) }],
    ['a negative position', { position: -1 }],
    ['a position of the wrong type', { position: 'first' }],
  ])('refuses to update one with %s', async (_label, body) => {
    await expectRefused(() => api(owner, 'PUT', `/${main.id}/channels/${main.generalId}`, body), 400, 'invalid_payload');
  });

  it.each([
    ["another community's channel", () => foreign.generalId],
    ['an unknown channel', () => crypto.randomUUID()],
    ['a malformed id', () => 'general'],
  ])('answers channel_not_found for %s', async (_label, channelId) => {
    await expectRefused(() => api(owner, 'PUT', `/${main.id}/channels/${channelId()}`, { name: 'stolen' }), 404, 'channel_not_found');
    await expectRefused(() => api(owner, 'DELETE', `/${main.id}/channels/${channelId()}`), 404, 'channel_not_found');
  });

  it('deletes a channel, tells the members and audits it', async () => {
    const created = await api<Channel>(owner, 'POST', `/${main.id}/channels`, { name: 'temporary', type: 'text' });
    const memberSocket = await socketOf(member);
    const heard = eventWhere(memberSocket, 'channel:deleted', (event) => event.channelId === created.body.id);

    expect(await api(admin, 'DELETE', `/${main.id}/channels/${created.body.id}`)).toMatchObject({ status: 204 });
    expect(await heard).toEqual({ serverId: main.id, channelId: created.body.id });
    expect(await node.database.db.selectFrom('channels').select('id').where('id', '=', created.body.id).execute()).toEqual([]);
    expect(await auditOf(main.id, 'channel.delete')).toMatchObject([
      { actor_id: admin.session.id, target_id: created.body.id, details: { name: 'temporary' } },
    ]);
  });
});

/**
 * Sends a message from `sender` and tells whether `reader` received it. The
 * reader's own request is answered after anything already sent on its
 * connection, so its answer fences the delivery without a sleep.
 */
function deliveryProbe(sender: ParleySocket, reader: ParleySocket, channelId: string) {
  const received: ChatMessage[] = [];
  reader.on('chat:new', (message) => received.push(message));
  let count = 0;
  return async (): Promise<boolean> => {
    const text = `probe ${++count}`;
    await sender.request('chat:send', { conversationId: channelId, text });
    await reader.request('chat:fetch', { conversationId: channelId, limit: 1 }).catch(() => undefined);
    return received.some((message) => message.conversationId === channelId && message.text === text);
  };
}

/** Retries `probe` until it holds: rooms are recomputed asynchronously after the change commits. */
async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
  }
}

function sendError(socket: ParleySocket, channelId: string): Promise<string> {
  return socket.request('chat:send', { conversationId: channelId, text: 'may I?' }).then(
    () => 'sent',
    (error: ParleyError) => error.code,
  );
}

describe('channel overrides', () => {
  it('denying view_channels to the member role hides the channel from members until the override is removed', async () => {
    const { id, generalId, roles } = await community(owner, [[member, []]]);
    const ownerSocket = await socketOf(owner);
    const memberSocket = await socketOf(member);
    const deliveredToMember = deliveryProbe(ownerSocket, memberSocket, generalId);
    expect(await deliveredToMember()).toBe(true);

    const hidden = eventWhere(memberSocket, 'channel:updated', (channel) => channel.id === generalId && channel.overrides.length > 0);
    const reply = await api<Channel>(owner, 'PUT', `/${id}/channels/${generalId}/overrides/${roles.member}`, { deny: ['view_channels'] });
    const override = { roleId: roles.member, allow: [], deny: ['view_channels'] };
    expect(reply).toMatchObject({ status: 200, body: { id: generalId, overrides: [override] } });
    expect(await hidden).toEqual(reply.body);
    expect(await auditOf(id, 'channel.override_set')).toMatchObject([
      { actor_id: owner.session.id, target_id: generalId, details: { roleId: roles.member, allow: [], deny: ['view_channels'] } },
    ]);

    expect(await sendError(memberSocket, generalId)).toBe('forbidden');
    expect((await api<{ items: Channel[] }>(member, 'GET', `/${id}/channels`)).body.items).toEqual([]);
    const ownerView = await api<{ items: Channel[] }>(owner, 'GET', `/${id}/channels`);
    expect(ownerView.body.items).toMatchObject([{ id: generalId, overrides: [override] }]);
    await until(async () => !(await deliveredToMember()), 'leaving the hidden channel’s room');
    expect(await deliveredToMember()).toBe(false);

    const shown = eventWhere(memberSocket, 'channel:updated', (channel) => channel.id === generalId && channel.overrides.length === 0);
    expect(await api(owner, 'DELETE', `/${id}/channels/${generalId}/overrides/${roles.member}`)).toMatchObject({ status: 204 });
    expect(await shown).toMatchObject({ id: generalId, overrides: [] });
    expect(await auditOf(id, 'channel.override_delete')).toMatchObject([{ target_id: generalId, details: { roleId: roles.member } }]);
    expect(await sendError(memberSocket, generalId)).toBe('sent');
    await until(deliveredToMember, 'rejoining the channel’s room');
  });

  it('acts only on roles ranked below the actor, and only by holders of manage_channels', async () => {
    const { id, generalId, roles } = await community(owner, [
      [admin, ['admin']],
      [moderator, ['moderator']],
      [member, []],
    ]);
    const path = (roleId: string) => `/${id}/channels/${generalId}/overrides/${roleId}`;
    await expectRefused(() => api(admin, 'PUT', path(roles.admin), { deny: ['send_messages'] }), 403, 'insufficient_rank');
    await expectRefused(() => api(admin, 'DELETE', path(roles.admin)), 403, 'insufficient_rank');
    await expectRefused(() => api(moderator, 'PUT', path(roles.guest), { deny: ['send_messages'] }), 403, 'forbidden');
    await expectRefused(() => api(member, 'PUT', path(roles.guest), { deny: ['send_messages'] }), 403, 'forbidden');
    await expectRefused(() => api(outsider, 'PUT', path(roles.guest), { deny: ['send_messages'] }), 403, 'not_a_member');

    expect(await api(admin, 'PUT', path(roles.moderator), { allow: ['manage_messages'] })).toMatchObject({
      status: 200,
      body: { overrides: [{ roleId: roles.moderator, allow: ['manage_messages'], deny: [] }] },
    });
    expect(await api(owner, 'PUT', path(roles.admin), { deny: ['speak'] })).toMatchObject({ status: 200 });
  });

  it('allows only permissions the actor holds', async () => {
    const { id, generalId, roles } = await community(owner, [[member, []]]);
    const keeper = await api<Role>(owner, 'POST', `/${id}/roles`, {
      name: 'Keeper',
      rank: 600,
      permissions: ['view_channels', 'manage_channels'],
    });
    await grant(id, member, keeper.body.id);
    const path = `/${id}/channels/${generalId}/overrides/${roles.member}`;

    await expectRefused(() => api(member, 'PUT', path, { allow: ['manage_messages'] }), 403, 'forbidden');
    // Held through the member role; denying never needs the permission.
    expect(await api(member, 'PUT', path, { allow: ['send_messages'], deny: ['manage_messages', 'speak'] })).toMatchObject({ status: 200 });
  });

  it.each([
    ["another community's role", () => foreign.roles.member, 'role_not_found'],
    ['an unknown role', () => crypto.randomUUID(), 'role_not_found'],
    ['a malformed role id', () => 'member', 'role_not_found'],
  ])('answers 404 for %s', async (_label, roleId, code) => {
    const path = `/${main.id}/channels/${main.generalId}/overrides/${roleId()}`;
    await expectRefused(() => api(owner, 'PUT', path, { deny: ['view_channels'] }), 404, code);
    await expectRefused(() => api(owner, 'DELETE', path), 404, code);
  });

  it.each([
    ["another community's channel", () => foreign.generalId],
    ['an unknown channel', () => crypto.randomUUID()],
    ['a malformed channel id', () => '42'],
  ])('answers channel_not_found for %s', async (_label, channelId) => {
    const path = `/${main.id}/channels/${channelId()}/overrides/${main.roles.member}`;
    await expectRefused(() => api(owner, 'PUT', path, { deny: ['view_channels'] }), 404, 'channel_not_found');
    await expectRefused(() => api(owner, 'DELETE', path), 404, 'channel_not_found');
  });

  it.each([
    ['a permission both allowed and denied', { allow: ['speak'], deny: ['speak'] }],
    ['a permission channels do not have', { allow: ['manage_server'] }],
    ['an unknown permission', { deny: ['fly'] }],
    ['a repeated permission', { deny: ['speak', 'speak'] }],
    ['a list of the wrong type', { deny: 'speak' }],
  ])('refuses %s', async (_label, body) => {
    const path = `/${main.id}/channels/${main.generalId}/overrides/${main.roles.member}`;
    await expectRefused(() => api(owner, 'PUT', path, body), 400, 'invalid_payload');
  });

  it('removing an override that does not exist changes nothing', async () => {
    const path = `/${main.id}/channels/${main.generalId}/overrides/${main.roles.guest}`;
    const before = await snapshot();
    expect(await api(owner, 'DELETE', path)).toMatchObject({ status: 204 });
    expect(await snapshot()).toEqual(before);
  });
});

describe('roles', () => {
  it('lists the roles to members, highest rank first', async () => {
    const reply = await api<{ items: Role[] }>(member, 'GET', `/${foreign.id}/roles`);
    expect(reply).toMatchObject({ status: 403, body: { error: { code: 'not_a_member' } } });
    const roles = await api<{ items: Role[] }>(member, 'GET', `/${main.id}/roles`);
    expect(roles.status).toBe(200);
    expect(roles.body.items.filter((role) => role.builtin)).toMatchObject([
      { name: 'Admin', rank: 900, builtin: 'admin', serverId: main.id },
      { name: 'Moderator', rank: 500, builtin: 'moderator' },
      { name: 'Member', rank: 100, builtin: 'member', permissions: expect.arrayContaining(['view_channels', 'send_messages']) },
      { name: 'Guest', rank: 10, builtin: 'guest', permissions: ['view_channels'] },
    ]);
    expect((await api(member, 'GET', '/nope/roles')).body.error?.code).toBe('server_not_found');
  });

  it('creates a role ranked below the creator, ignoring forged fields; members hear it; it is audited', async () => {
    const memberSocket = await socketOf(member);
    const heard = eventWhere(memberSocket, 'role:updated', (role) => role.name === 'Helpers');
    const reply = await api<Role>(admin, 'POST', `/${main.id}/roles`, {
      name: ' Helpers ',
      rank: 300,
      permissions: ['kick_members', 'view_channels'],
      builtin: 'admin',
      serverId: foreign.id,
    });
    expect(reply).toMatchObject({
      status: 201,
      body: { serverId: main.id, name: 'Helpers', rank: 300, permissions: ['kick_members', 'view_channels'], builtin: null },
    });
    expect(await heard).toEqual(reply.body);
    expect(await auditOf(main.id, 'role.create')).toContainEqual(
      expect.objectContaining({
        actor_id: admin.session.id,
        target_id: reply.body.id,
        details: { name: 'Helpers', rank: 300, permissions: ['kick_members', 'view_channels'] },
      }),
    );
    // The owner outranks every role.
    expect(await api(owner, 'POST', `/${main.id}/roles`, { name: 'Second in command', rank: 999 })).toMatchObject({ status: 201 });
  });

  it.each([
    ['at the creator’s rank', 900],
    ['above the creator’s rank', 950],
  ])('refuses a role %s', async (_label, rank) => {
    await expectRefused(() => api(admin, 'POST', `/${main.id}/roles`, { name: `Rank ${rank}`, rank }), 403, 'insufficient_rank');
  });

  it.each([
    ['a member', () => member, 'forbidden'],
    ['a moderator', () => moderator, 'forbidden'],
    ['a non-member', () => outsider, 'not_a_member'],
  ])('refuses role changes by %s', async (_label, who, code) => {
    await expectRefused(() => api(who(), 'POST', `/${main.id}/roles`, { name: 'Mine', rank: 5 }), 403, code);
    await expectRefused(() => api(who(), 'PUT', `/${main.id}/roles/${main.roles.guest}`, { permissions: [] }), 403, code);
    const name = `Victim ${Math.random().toString(36).slice(2, 8)}`;
    const custom = await api<Role>(owner, 'POST', `/${main.id}/roles`, { name, rank: 5 });
    await expectRefused(() => api(who(), 'DELETE', `/${main.id}/roles/${custom.body.id}`), 403, code);
  });

  it('grants only permissions the actor holds, on roles below them', async () => {
    const { id, roles } = await community(owner, [[member, []]]);
    const keeper = await api<Role>(owner, 'POST', `/${id}/roles`, { name: 'Keeper', rank: 600, permissions: ['manage_roles'] });
    await grant(id, member, keeper.body.id);

    const bouncers = { name: 'Bouncers', rank: 300, permissions: ['ban_members'] };
    await expectRefused(() => api(member, 'POST', `/${id}/roles`, bouncers), 403, 'forbidden');
    await expectRefused(() => api(member, 'POST', `/${id}/roles`, { name: 'Peers', rank: 600 }), 403, 'insufficient_rank');
    await expectRefused(() => api(member, 'PUT', `/${id}/roles/${keeper.body.id}`, { permissions: [] }), 403, 'insufficient_rank');
    await expectRefused(
      () => api(member, 'PUT', `/${id}/roles/${roles.guest}`, { permissions: ['view_channels', 'kick_members'] }),
      403,
      'forbidden',
    );
    // Held through the member role.
    const talkers = await api<Role>(member, 'POST', `/${id}/roles`, { name: 'Talkers', rank: 300, permissions: ['send_messages'] });
    expect(talkers.status).toBe(201);
    await expectRefused(() => api(member, 'PUT', `/${id}/roles/${talkers.body.id}`, { rank: 600 }), 403, 'insufficient_rank');

    // Permissions the actor lacks may stay on, or come off, a role they manage.
    const talkersPath = `/${id}/roles/${talkers.body.id}`;
    await node.database.db
      .updateTable('roles')
      .set({ permissions: ['send_messages', 'ban_members'] })
      .where('id', '=', talkers.body.id)
      .execute();
    const kept = await api(member, 'PUT', talkersPath, { permissions: ['send_messages', 'ban_members', 'speak'] });
    expect(kept).toMatchObject({ status: 200 });
    const removed = await api(member, 'PUT', talkersPath, { permissions: ['speak'] });
    expect(removed).toMatchObject({ status: 200, body: { permissions: ['speak'] } });
  });

  it('refuses a name another role has, in any case (name_taken)', async () => {
    const { id } = await community(owner);
    const existing = await api<Role>(owner, 'POST', `/${id}/roles`, { name: 'Greeters', rank: 50 });
    await expectRefused(() => api(owner, 'POST', `/${id}/roles`, { name: 'MEMBER', rank: 50 }), 409, 'name_taken');
    await expectRefused(() => api(owner, 'POST', `/${id}/roles`, { name: 'greeters', rank: 60 }), 409, 'name_taken');
    await expectRefused(() => api(owner, 'PUT', `/${id}/roles/${existing.body.id}`, { name: 'Guest' }), 409, 'name_taken');
  });

  it.each([
    ['an oversized name', { name: 'r'.repeat(33), rank: 5 }],
    ['an empty name', { name: ' ', rank: 5 }],
    ['no rank', { name: 'Rankless' }],
    ['rank 0', { name: 'Zero', rank: 0 }],
    ['the owner’s rank', { name: 'Owner', rank: 1000 }],
    ['a fractional rank', { name: 'Half', rank: 1.5 }],
    ['a rank of the wrong type', { name: 'Word', rank: 'high' }],
    ['an unknown permission', { name: 'Flyers', rank: 5, permissions: ['fly'] }],
    ['a repeated permission', { name: 'Echo', rank: 5, permissions: ['speak', 'speak'] }],
  ])('refuses to create a role with %s', async (_label, body) => {
    await expectRefused(() => api(owner, 'POST', `/${main.id}/roles`, body), 400, 'invalid_payload');
  });

  it('stops at the custom role limit', async () => {
    const { id } = await community(owner);
    const filler = Array.from({ length: 100 }, (_, index) => ({ server_id: id, name: `r${index}`, rank: 5, permissions: [] }));
    await node.database.db.insertInto('roles').values(filler).execute();
    await expectRefused(() => api(owner, 'POST', `/${id}/roles`, { name: 'One too many', rank: 5 }), 409, 'limit_reached');
  });

  it('updates a custom role; members hear it; it is audited', async () => {
    const created = await api<Role>(owner, 'POST', `/${main.id}/roles`, { name: 'Greeters', rank: 200 });
    const memberSocket = await socketOf(member);
    const heard = eventWhere(memberSocket, 'role:updated', (role) => role.name === 'Welcomers');
    const reply = await api<Role>(admin, 'PUT', `/${main.id}/roles/${created.body.id}`, {
      name: 'Welcomers',
      rank: 250,
      permissions: ['create_invites'],
      builtin: 'admin',
    });
    expect(reply).toMatchObject({
      status: 200,
      body: { id: created.body.id, name: 'Welcomers', rank: 250, permissions: ['create_invites'], builtin: null },
    });
    expect(await heard).toEqual(reply.body);
    expect(await auditOf(main.id, 'role.update')).toContainEqual(
      expect.objectContaining({
        actor_id: admin.session.id,
        target_id: created.body.id,
        details: { name: 'Welcomers', rank: 250, permissions: ['create_invites'] },
      }),
    );
  });

  it('changes the permissions of built-in roles, never their name or rank', async () => {
    const { id, roles } = await community(owner, [[admin, ['admin']]]);
    const moderatorRole = await node.database.db
      .selectFrom('roles')
      .select('permissions')
      .where('id', '=', roles.moderator)
      .executeTakeFirstOrThrow();
    const permissions = [...moderatorRole.permissions, 'manage_invites'];
    // A client may send the whole role back: an unchanged name and rank are fine.
    expect(await api(admin, 'PUT', `/${id}/roles/${roles.moderator}`, { name: 'Moderator', rank: 500, permissions })).toMatchObject({
      status: 200,
      body: { builtin: 'moderator', rank: 500, permissions },
    });
    await expectRefused(() => api(admin, 'PUT', `/${id}/roles/${roles.moderator}`, { name: 'Mods' }), 403, 'forbidden');
    await expectRefused(() => api(admin, 'PUT', `/${id}/roles/${roles.member}`, { rank: 150 }), 403, 'forbidden');
    const demotion = { permissions: ['view_channels'] };
    await expectRefused(() => api(admin, 'PUT', `/${id}/roles/${roles.admin}`, demotion), 403, 'insufficient_rank');
    await expectRefused(() => api(owner, 'PUT', `/${id}/roles/${roles.admin}`, { rank: 950 }), 403, 'forbidden');
    const byOwner = await api(owner, 'PUT', `/${id}/roles/${roles.admin}`, { permissions: ['view_channels', 'manage_roles'] });
    expect(byOwner).toMatchObject({ status: 200, body: { permissions: ['view_channels', 'manage_roles'] } });
  });

  it('recomputes who may view channels when a role’s permissions change', async () => {
    const { id, generalId, roles } = await community(owner, [[member, []]]);
    const ownerSocket = await socketOf(owner);
    const memberSocket = await socketOf(member);
    const deliveredToMember = deliveryProbe(ownerSocket, memberSocket, generalId);
    expect(await deliveredToMember()).toBe(true);

    const withoutView = await api(owner, 'PUT', `/${id}/roles/${roles.member}`, { permissions: ['send_messages', 'speak'] });
    expect(withoutView).toMatchObject({ status: 200 });
    expect(await sendError(memberSocket, generalId)).toBe('forbidden');
    await until(async () => !(await deliveredToMember()), 'leaving the channel’s room');
    expect(await deliveredToMember()).toBe(false);
  });

  it.each([
    ["another community's role", () => foreign.roles.guest],
    ['an unknown role', () => crypto.randomUUID()],
    ['a malformed id', () => 'guest'],
  ])('answers role_not_found for %s', async (_label, roleId) => {
    await expectRefused(() => api(owner, 'PUT', `/${main.id}/roles/${roleId()}`, { permissions: [] }), 404, 'role_not_found');
    await expectRefused(() => api(owner, 'DELETE', `/${main.id}/roles/${roleId()}`), 404, 'role_not_found');
  });

  it.each([
    ['nothing to change', {}],
    ['an oversized name', { name: 'r'.repeat(33) }],
    ['the owner’s rank', { rank: 1000 }],
    ['permissions of the wrong type', { permissions: 'all' }],
  ])('refuses to update a role with %s', async (_label, body) => {
    await expectRefused(() => api(owner, 'PUT', `/${main.id}/roles/${main.roles.guest}`, body), 400, 'invalid_payload');
  });

  it('deletes custom roles below the actor; holders lose it; members hear it; it is audited', async () => {
    const { id, roles } = await community(owner, [
      [admin, ['admin']],
      [member, []],
    ]);
    const high = await api<Role>(owner, 'POST', `/${id}/roles`, { name: 'Council', rank: 950 });
    const low = await api<Role>(owner, 'POST', `/${id}/roles`, { name: 'Regulars', rank: 150 });
    await grant(id, member, low.body.id);
    await expectRefused(() => api(owner, 'DELETE', `/${id}/roles/${roles.member}`), 403, 'forbidden');
    await expectRefused(() => api(admin, 'DELETE', `/${id}/roles/${high.body.id}`), 403, 'insufficient_rank');

    const memberSocket = await socketOf(member);
    const heard = eventWhere(memberSocket, 'role:deleted', (event) => event.roleId === low.body.id);
    expect(await api(admin, 'DELETE', `/${id}/roles/${low.body.id}`)).toMatchObject({ status: 204 });
    expect(await heard).toEqual({ serverId: id, roleId: low.body.id });
    const db = node.database.db;
    expect(await db.selectFrom('member_roles').select('user_id').where('role_id', '=', low.body.id).execute()).toEqual([]);
    expect(await auditOf(id, 'role.delete')).toMatchObject([
      { actor_id: admin.session.id, target_id: low.body.id, details: { name: 'Regulars' } },
    ]);
  });
});
