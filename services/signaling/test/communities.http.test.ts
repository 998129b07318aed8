import type { ParleySocket } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communityFixtures, type Community } from './support/community-fixtures.ts';
import { eventWhere } from './support/delivery.ts';
import { serversApi } from './support/rest.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { OpenSockets, registerUser, type TestUser } from './support/users.ts';

let node: TestNode;
const sockets = new OpenSockets();
const { api, expectRefused, auditOf } = serversApi(() => node);
const { community, cast } = communityFixtures(() => node);
const socketOf = (user: TestUser): Promise<ParleySocket> => sockets.connect(node.url, user);

let owner: TestUser;
let admin: TestUser;
let moderator: TestUser;
let member: TestUser;
let outsider: TestUser;
/** The community most tests act on, and another one whose ids must not work under its URL. */
let main: Community;
let foreign: Community;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', RATE_LIMIT_CHAT_SEND: '1000/10s', RATE_LIMIT_CHAT_FETCH: '1000/10s' });
  ({ owner, admin, moderator, member, outsider, main, foreign } = await cast());
});
afterAll(async () => {
  sockets.closeAll();
  await node.stop();
});

describe('POST /api/servers', () => {
  it('creates a server with a default text channel, owned by its creator who is a member', async () => {
    const { session, http } = await registerUser(node.url);
    const server = await http.createServer({ name: '  Gamers  ', description: 'we play' });
    expect(server).toMatchObject({ name: 'Gamers', description: 'we play', ownerId: session.id, memberCount: 1 });
    expect(server.channels).toEqual([
      { id: expect.any(String), serverId: server.id, name: 'general', type: 'text', position: 0, overrides: [] },
    ]);
    const roles = await node.database.db.selectFrom('roles').select(['builtin', 'rank']).where('server_id', '=', server.id).execute();
    expect(roles.map((role) => [role.builtin, role.rank]).sort()).toEqual([
      ['admin', 900],
      ['guest', 10],
      ['member', 100],
      ['moderator', 500],
    ]);
    const members = await node.database.db.selectFrom('members').selectAll().where('server_id', '=', server.id).execute();
    expect(members).toMatchObject([{ user_id: session.id, active: true }]);
  });

  it('ignores an owner id forged in the body: the actor comes from the token', async () => {
    const { session, http } = await registerUser(node.url);
    const { session: victim } = await registerUser(node.url);
    const server = await http.request<{ ownerId: string }>('POST', '/api/servers', { name: 'mine', ownerId: victim.id });
    expect(server.ownerId).toBe(session.id);
  });
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
