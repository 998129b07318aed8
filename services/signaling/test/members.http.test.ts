import type { Member, Page } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communityFixtures, idOf, UNKNOWN_ID, type StaffedCommunity } from './support/community-fixtures.ts';
import { deliveryProbe } from './support/delivery.ts';
import { failure, serversApi } from './support/rest.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { connect, eventually, registerUser, type TestUser } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', RATE_LIMIT_CHAT_SEND: '1000/10s', RATE_LIMIT_CHAT_FETCH: '1000/10s' });
});
afterAll(() => node.stop());

const { api, expectRefused, auditOf } = serversApi(() => node);
const { staffedCommunity, roleId } = communityFixtures(() => node);

describe('member list', () => {
  it('pages through every member exactly once, in join order', async () => {
    const c = await staffedCommunity();
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
    const c = await staffedCommunity();
    const outsider = await registerUser(node.url);
    expect(await api(outsider, 'GET', `/${c.serverId}/members`)).toMatchObject(failure(403, 'not_a_member'));
    expect(await api(c.member, 'GET', `/${UNKNOWN_ID}/members`)).toMatchObject(failure(404, 'server_not_found'));
    expect(await api(c.member, 'GET', '/not-a-server/members')).toMatchObject(failure(404, 'server_not_found'));
    expect(await api(c.member, 'GET', `/${c.serverId}/members?cursor=garbage`)).toMatchObject(failure(400, 'invalid_payload'));
    expect(await api(c.member, 'GET', `/${c.serverId}/members?limit=0`)).toMatchObject(failure(400, 'invalid_payload'));
    expect(await api(undefined, 'GET', `/${c.serverId}/members`)).toMatchObject(failure(401, 'auth_required'));
  });
});

describe('nicknames and roles', () => {
  it('a moderator cannot assign roles (no manage_roles): forbidden', async () => {
    const c = await staffedCommunity();
    const roleIds = [await roleId(c.serverId, 'member'), await roleId(c.serverId, 'guest')];
    await expectRefused(() => api(c.mod, 'PUT', `/${c.serverId}/members/${idOf(c.member)}`, { roleIds }), 403, 'forbidden');
  });

  it('roles: only those ranked strictly below the actor may be added or removed, on others and on oneself', async () => {
    const c = await staffedCommunity();
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
    const c = await staffedCommunity();
    const other = await c.owner.http.createServer({ name: 'elsewhere' });
    const foreign = await roleId(other.id, 'guest');
    const member = await roleId(c.serverId, 'member');
    const path = `/${c.serverId}/members/${idOf(c.member)}`;
    await expectRefused(() => api(c.owner, 'PUT', path, { roleIds: [member, foreign] }), 404, 'role_not_found');
    await expectRefused(() => api(c.owner, 'PUT', path, { roleIds: [UNKNOWN_ID] }), 404, 'role_not_found');
  });

  it('nicknames: oneself with change_nickname, others with manage_nicknames and a higher rank', async () => {
    const c = await staffedCommunity();
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
    const c = await staffedCommunity();
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
    const c = await staffedCommunity();
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
    const reaches = deliveryProbe(ownerSocket, socket, hidden.id);
    const path = `/${c.serverId}/members/${idOf(c.member)}`;

    expect(await reaches()).toBe(false);
    expect((await api(c.owner, 'PUT', path, { roleIds: [memberRole, moderatorRole] })).status).toBe(200);
    // The room refresh runs after the response.
    await eventually(reaches, 5000, 'entering the moderators’ channel');
    expect((await api(c.owner, 'PUT', path, { roleIds: [memberRole] })).status).toBe(200);
    await eventually(async () => !(await reaches()), 5000, 'leaving the moderators’ channel');
    socket.close();
    ownerSocket.close();
  });
});

describe('PUT member with a malformed body: 400 invalid_payload', () => {
  let c: StaffedCommunity;
  beforeAll(async () => {
    c = await staffedCommunity();
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
