import type { ParleySocket } from '@parley/client';
import type { Channel, Role } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communityFixtures, type Community } from './support/community-fixtures.ts';
import { deliveryProbe, eventWhere, sendError } from './support/delivery.ts';
import { serversApi } from './support/rest.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { eventually, OpenSockets, type TestUser } from './support/users.ts';

let node: TestNode;
const sockets = new OpenSockets();
const { api, snapshot, expectRefused, auditOf } = serversApi(() => node);
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
    await eventually(async () => !(await deliveredToMember()), 5000, 'leaving the hidden channel’s room');
    expect(await deliveredToMember()).toBe(false);

    const shown = eventWhere(memberSocket, 'channel:updated', (channel) => channel.id === generalId && channel.overrides.length === 0);
    expect(await api(owner, 'DELETE', `/${id}/channels/${generalId}/overrides/${roles.member}`)).toMatchObject({ status: 204 });
    expect(await shown).toMatchObject({ id: generalId, overrides: [] });
    expect(await auditOf(id, 'channel.override_delete')).toMatchObject([{ target_id: generalId, details: { roleId: roles.member } }]);
    expect(await sendError(memberSocket, generalId)).toBe('sent');
    await eventually(deliveredToMember, 5000, 'rejoining the channel’s room');
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
