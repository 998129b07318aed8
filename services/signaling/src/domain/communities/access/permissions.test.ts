import { OWNER_RANK, permissions, type Permission } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { channelPermissionsOf, isMuted, rankOf, serverPermissions, viewableChannels, type Grant } from './permissions.ts';

const moderatorRole = { id: 'moderator', rank: 500, permissions: ['view_channels', 'send_messages', 'kick_members'] };
const memberRole = { id: 'member', rank: 100, permissions: ['view_channels', 'send_messages', 'speak'] };
const guestRole = { id: 'guest', rank: 10, permissions: ['view_channels'] };
const mutedRole = { id: 'muted', rank: 50, permissions: [] };

const member = (...roles: Grant['roles']): Grant => ({ isOwner: false, roles });
const owner = (...roles: Grant['roles']): Grant => ({ isOwner: true, roles });
const sorted = (set: Set<Permission>) => [...set].sort();

describe('rankOf', () => {
  it.each<[string, Grant, number]>([
    ['a member with no role', member(), 0],
    ['a member with one role', member(guestRole), 10],
    ['a member with several roles: the highest', member(guestRole, moderatorRole, memberRole), 500],
    ['the owner with no role', owner(), OWNER_RANK],
    ['the owner, whatever their roles', owner(moderatorRole), OWNER_RANK],
  ])('%s', (_label, grant, rank) => {
    expect(rankOf(grant)).toBe(rank);
  });
});

describe('serverPermissions', () => {
  it.each<[string, Grant, Permission[]]>([
    ['no role: nothing', member(), []],
    ['one role: its permissions', member(guestRole), ['view_channels']],
    ['several roles: the union', member(guestRole, moderatorRole, memberRole), ['kick_members', 'send_messages', 'speak', 'view_channels']],
    ['a role with none', member(mutedRole), []],
    ['a stored name that is no permission is ignored', member({ id: 'old', rank: 5, permissions: ['fly', 'speak'] }), ['speak']],
    ['the owner: every permission, with no role', owner(), [...permissions].sort()],
  ])('%s', (_label, grant, expected) => {
    expect(sorted(serverPermissions(grant))).toEqual(expected);
  });
});

describe('channelPermissionsOf', () => {
  type Override = { role_id: string; allow: string[]; deny: string[] };
  const deny = (roleId: string, ...list: string[]): Override => ({ role_id: roleId, allow: [], deny: list });
  const allow = (roleId: string, ...list: string[]): Override => ({ role_id: roleId, allow: list, deny: [] });

  it.each<[string, Grant, Override[], Permission[]]>([
    ['no override: the server-wide set', member(memberRole), [], ['send_messages', 'speak', 'view_channels']],
    ['a deny on a held role removes', member(memberRole), [deny('member', 'send_messages')], ['speak', 'view_channels']],
    ['a deny on a role not held changes nothing', member(memberRole), [deny('guest', 'view_channels')], ['send_messages', 'speak', 'view_channels']],
    ['an allow on a held role adds', member(guestRole), [allow('guest', 'send_messages')], ['send_messages', 'view_channels']],
    ['an allow on a role not held adds nothing', member(guestRole), [allow('member', 'speak')], ['view_channels']],
    [
      'an allow on one held role beats a deny on another',
      member(memberRole, guestRole),
      [deny('member', 'view_channels', 'speak'), allow('guest', 'view_channels')],
      ['send_messages', 'view_channels'],
    ],
    [
      'an allow beats a deny whatever their order',
      member(memberRole, guestRole),
      [allow('guest', 'view_channels'), deny('member', 'view_channels')],
      ['send_messages', 'speak', 'view_channels'],
    ],
    ['a permission both allowed and denied on one role is allowed', member(guestRole), [{ role_id: 'guest', allow: ['speak'], deny: ['speak'] }], ['speak', 'view_channels']],
    ['a deny of a server-only permission is ignored', member(moderatorRole), [deny('moderator', 'kick_members')], ['kick_members', 'send_messages', 'view_channels']],
    ['an allow of a server-only permission is ignored', member(guestRole), [allow('guest', 'manage_server', 'ban_members')], ['view_channels']],
    ['an unknown permission is ignored', member(guestRole), [allow('guest', 'fly'), deny('guest', 'fly')], ['view_channels']],
  ])('%s', (_label, grant, overrides, expected) => {
    expect(sorted(channelPermissionsOf(grant, overrides))).toEqual(expected);
  });

  it('does not apply overrides to the owner, even on roles they hold', () => {
    const granted = channelPermissionsOf(owner(memberRole), [deny('member', 'view_channels', 'send_messages', 'speak')]);
    expect(sorted(granted)).toEqual([...permissions].sort());
  });
});

describe('isMuted', () => {
  const now = new Date('2030-01-01T12:00:00Z');
  const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);

  it.each<[string, { muted: boolean; muted_until: Date | null }, boolean]>([
    ['not muted', { muted: false, muted_until: null }, false],
    ['muted until unmuted', { muted: true, muted_until: null }, true],
    ['muted until a later time', { muted: true, muted_until: at(1) }, true],
    ['muted until now: over', { muted: true, muted_until: now }, false],
    ['muted until a past time: over', { muted: true, muted_until: at(-60_000) }, false],
    ['unmuted with a time left behind', { muted: false, muted_until: at(60_000) }, false],
  ])('%s', (_label, member, expected) => {
    expect(isMuted(member, now)).toBe(expected);
  });
});

describe('viewableChannels', () => {
  const channels = [{ id: 'general' }, { id: 'staff' }, { id: 'lounge' }];
  const overrides = [
    { channel_id: 'staff', role_id: 'member', allow: [], deny: ['view_channels'] },
    { channel_id: 'staff', role_id: 'moderator', allow: ['view_channels'], deny: [] },
    // An override of another channel must not leak into this one.
    { channel_id: 'lounge', role_id: 'guest', allow: [], deny: ['view_channels'] },
  ];

  it.each<[string, Grant, string[]]>([
    ['a member: all but the staff channel', member(memberRole), ['general', 'lounge']],
    ['a member who is also a moderator: every channel', member(memberRole, moderatorRole), ['general', 'staff', 'lounge']],
    ['a guest: all but the lounge', member(guestRole), ['general', 'staff']],
    ['a member with no role: none', member(), []],
    ['the owner: every channel', owner(), ['general', 'staff', 'lounge']],
  ])('%s', (_label, grant, expected) => {
    expect(viewableChannels(grant, channels, overrides).map((channel) => channel.id)).toEqual(expected);
  });
});
