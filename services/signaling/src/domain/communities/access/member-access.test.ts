import type { MemberRow, RoleRow, ServerRow } from '@parley/db';
import { OWNER_RANK, permissions, type Permission } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../errors.ts';
import type { Repositories } from '../../store.ts';
import { loadAccess, MemberAccess, rankOfMember } from './member-access.ts';

const SERVER_ID = 'server-1';
const OWNER_ID = 'owner';
const created = new Date('2030-01-01T00:00:00Z');

const server: ServerRow = {
  id: SERVER_ID,
  name: 'Rules',
  description: null,
  owner_id: OWNER_ID,
  join_policy: 'invite',
  discoverable: false,
  max_members: null,
  created_at: created,
  updated_at: created,
  is_default: false,
  password_hash: null,
  featured_at: null,
  icon_url: null,
  icon_file_id: null,
  member_count: 3,
};

function memberRow(userId: string, mute: Pick<MemberRow, 'muted' | 'muted_until'> = { muted: false, muted_until: null }): MemberRow {
  return { server_id: SERVER_ID, user_id: userId, nickname: null, active: true, joined_at: created, ...mute };
}

function role(id: string, rank: number, granted: Permission[]): RoleRow {
  return { id, server_id: SERVER_ID, name: id, builtin: null, rank, permissions: granted, created_at: created };
}

const moderator = role('moderator', 500, ['view_channels', 'send_messages', 'kick_members']);
const member = role('member', 100, ['view_channels', 'send_messages']);

/** The code `act` threw, or 'ok'. */
function outcome(act: () => unknown): string {
  try {
    act();
    return 'ok';
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

describe('MemberAccess', () => {
  const everything = [...permissions].sort();

  it.each<[string, string, RoleRow[], { isOwner: boolean; rank: number; permissions: readonly string[] }]>([
    ['a member with no role', 'u1', [], { isOwner: false, rank: 0, permissions: [] }],
    ['a member with roles', 'u1', [member, moderator], { isOwner: false, rank: 500, permissions: ['kick_members', 'send_messages', 'view_channels'] }],
    ['the owner, named by the server row', OWNER_ID, [member], { isOwner: true, rank: OWNER_RANK, permissions: everything }],
  ])('%s', (_label, userId, roles, expected) => {
    const access = new MemberAccess(server, memberRow(userId), roles);
    expect({ isOwner: access.isOwner, rank: access.rank, permissions: [...access.permissions].sort() }).toEqual(expected);
  });

  it.each<[string, string, RoleRow[], Permission]>([
    ['a held permission', 'ok', [moderator], 'kick_members'],
    ['a permission held through another role', 'ok', [member, moderator], 'kick_members'],
    ['a permission no role grants', 'forbidden', [member], 'kick_members'],
    ['any permission with no role', 'forbidden', [], 'view_channels'],
  ])('require: %s → %s', (_label, expected, roles, permission) => {
    const access = new MemberAccess(server, memberRow('u1'), roles);
    expect(access.has(permission)).toBe(expected === 'ok');
    expect(outcome(() => access.require(permission))).toBe(expected);
  });

  it.each<[string, string, string, RoleRow[], number]>([
    ['a moderator over a member', 'ok', 'u1', [moderator], 100],
    ['a moderator over another moderator', 'insufficient_rank', 'u1', [moderator], 500],
    ['a moderator over an admin', 'insufficient_rank', 'u1', [moderator], 900],
    ['a member with no role over a member with no role', 'insufficient_rank', 'u1', [], 0],
    ['the owner over the highest role', 'ok', OWNER_ID, [], OWNER_RANK - 1],
    ['the owner over the owner’s rank (themselves)', 'insufficient_rank', OWNER_ID, [], OWNER_RANK],
  ])('requireOutranks: %s → %s', (_label, expected, userId, roles, targetRank) => {
    const access = new MemberAccess(server, memberRow(userId), roles);
    expect(outcome(() => access.requireOutranks(targetRank))).toBe(expected);
  });

  it('applies channel overrides of the roles it holds, and views only the channels they leave visible', () => {
    const access = new MemberAccess(server, memberRow('u1'), [member]);
    const overrides = [{ channel_id: 'staff', role_id: 'member', allow: [], deny: ['view_channels'] }];
    expect([...access.inChannel(overrides)]).toEqual(['send_messages']);
    expect(access.viewable([{ id: 'general' }, { id: 'staff' }], overrides)).toEqual([{ id: 'general' }]);
    const ownerAccess = new MemberAccess(server, memberRow(OWNER_ID), [member]);
    expect(ownerAccess.viewable([{ id: 'general' }, { id: 'staff' }], overrides)).toEqual([{ id: 'general' }, { id: 'staff' }]);
  });

  it.each<[string, Pick<MemberRow, 'muted' | 'muted_until'>, boolean]>([
    ['not muted', { muted: false, muted_until: null }, false],
    ['muted until unmuted', { muted: true, muted_until: null }, true],
    ['muted for another minute', { muted: true, muted_until: new Date('2030-01-01T12:01:00Z') }, true],
    ['a mute that ended', { muted: true, muted_until: new Date('2030-01-01T11:59:00Z') }, false],
  ])('isMuted: %s', (_label, mute, expected) => {
    expect(new MemberAccess(server, memberRow('u1', mute), []).isMuted(new Date('2030-01-01T12:00:00Z'))).toBe(expected);
  });
});

/** Repositories holding one community, its active members and their roles; nothing else is reachable. */
function reposOf(community: ServerRow | undefined, members: Record<string, RoleRow[]>): Repositories {
  const repos = {
    servers: { get: async (id: string) => (id === community?.id ? community : undefined) },
    members: {
      getActive: async (serverId: string, userId: string) =>
        serverId === community?.id && userId in members ? memberRow(userId) : undefined,
    },
    roles: { listOfMember: async (_serverId: string, userId: string) => members[userId] ?? [] },
  };
  return repos as unknown as Repositories;
}

describe('loadAccess', () => {
  it.each<[string, ServerRow | undefined, string, string]>([
    ['an unknown community', undefined, 'u1', 'server_not_found'],
    ['a user who is not an active member', server, 'stranger', 'not_a_member'],
  ])('refuses %s (%s)', async (_label, community, userId, code) => {
    await expect(loadAccess(reposOf(community, { u1: [member] }), SERVER_ID, userId)).rejects.toMatchObject({ code });
  });

  it('loads a member with their roles', async () => {
    const access = await loadAccess(reposOf(server, { u1: [member, moderator] }), SERVER_ID, 'u1');
    expect({ rank: access.rank, isOwner: access.isOwner, kick: access.has('kick_members') }).toEqual({ rank: 500, isOwner: false, kick: true });
  });
});

describe('rankOfMember', () => {
  it.each<[string, string, Record<string, RoleRow[]>, number]>([
    ['the owner, without looking them up', OWNER_ID, {}, OWNER_RANK],
    ['a member with roles: the highest', 'u1', { u1: [member, moderator] }, 500],
    ['a member with no role', 'u1', { u1: [] }, 0],
  ])('%s', async (_label, userId, members, rank) => {
    expect(await rankOfMember(reposOf(server, members), server, userId)).toBe(rank);
  });

  it('refuses a user who is not an active member (member_not_found)', async () => {
    await expect(rankOfMember(reposOf(server, { u1: [member] }), server, 'stranger')).rejects.toMatchObject({ code: 'member_not_found' });
  });
});
