import type { ParleySocket } from '@parley/client';
import type { Role } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communityFixtures, type Community } from './support/community-fixtures.ts';
import { deliveryProbe, eventWhere, sendError } from './support/delivery.ts';
import { serversApi } from './support/rest.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { eventually, OpenSockets, type TestUser } from './support/users.ts';

let node: TestNode;
const sockets = new OpenSockets();
const { api, expectRefused, auditOf } = serversApi(() => node);
const { community, cast, grant } = communityFixtures(() => node);
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
    await eventually(async () => !(await deliveredToMember()), 5000, 'leaving the channel’s room');
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
