import { afterAll, beforeAll, describe, it } from 'vitest';
import { communityFixtures, idOf, UNKNOWN_ID } from './support/community-fixtures.ts';
import { serversApi } from './support/rest.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import type { TestUser } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', RATE_LIMIT_CHAT_SEND: '1000/10s', RATE_LIMIT_CHAT_FETCH: '1000/10s' });
});
afterAll(() => node.stop());

const { api, expectRefused } = serversApi(() => node);
const { staffedCommunity, roleId } = communityFixtures(() => node);

describe('permissions and rank', () => {
  it('a plain member may not kick, ban, mute, assign roles or rename others (forbidden)', async () => {
    const c = await staffedCommunity();
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

  it('acting on a member needs a strictly higher rank: moderator vs admin or moderator, anyone vs the owner', async () => {
    const c = await staffedCommunity();
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
    const c = await staffedCommunity();
    const self = (user: TestUser) => `/${c.serverId}/members/${idOf(user)}`;
    await expectRefused(() => api(c.mod, 'PUT', self(c.mod), { muted: true }), 403, 'insufficient_rank');
    await expectRefused(() => api(c.owner, 'PUT', self(c.owner), { muted: true }), 403, 'insufficient_rank');
    await expectRefused(() => api(c.mod, 'DELETE', self(c.mod)), 403, 'forbidden');
    await expectRefused(() => api(c.owner, 'POST', `/${c.serverId}/bans`, { userId: idOf(c.owner) }), 403, 'forbidden');
  });
});

describe('bad input writes nothing', () => {
  it('unknown, malformed and foreign path ids answer the 404 of what they name', async () => {
    const c = await staffedCommunity();
    const other = await staffedCommunity();
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
    const c = await staffedCommunity();
    const forged = { nickname: 'x', actorId: idOf(c.owner), userId: idOf(c.owner), serverId: c.serverId };
    await expectRefused(() => api(c.member, 'PUT', `/${c.serverId}/members/${idOf(c.member2)}`, forged), 403, 'forbidden');
    await expectRefused(
      () => api(c.member, 'POST', `/${c.serverId}/bans`, { userId: idOf(c.member2), actorId: idOf(c.owner), bannedBy: idOf(c.owner) }),
      403,
      'forbidden',
    );
  });
});
