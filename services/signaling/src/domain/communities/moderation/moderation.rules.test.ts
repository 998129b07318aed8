import type { RoleRow, ServerRow } from '@parley/db';
import { builtinRoles, OWNER_RANK, type BuiltinRole, type UpdateMemberRequest } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../errors.ts';
import { MemberAccess } from '../access/member-access.ts';
import { changedFields, planMemberUpdate, targetOf, type MemberUpdatePlan } from './moderation.rules.ts';

const SERVER_ID = 'server-1';
const created = new Date('2030-01-01T00:00:00Z');
const now = new Date('2030-01-01T12:00:00Z');

function role(id: string, rank: number, permissions: readonly string[]): RoleRow {
  return { id, server_id: SERVER_ID, name: id, builtin: null, rank, permissions: [...permissions], created_at: created };
}

/** The built-in roles with their default permissions, and a custom role ranked above admin. */
const builtin = (key: BuiltinRole) => role(key, builtinRoles[key].rank, builtinRoles[key].permissions);
const roles = { admin: builtin('admin'), moderator: builtin('moderator'), member: builtin('member'), guest: builtin('guest'), senior: role('senior', 950, []) };
const communityRoles = Object.values(roles);

const server: ServerRow = {
  id: SERVER_ID,
  name: 'Rules',
  description: null,
  owner_id: 'owner',
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
  member_count: 7,
};

/** Who holds which roles. */
const holdings = {
  owner: [roles.member],
  admin: [roles.member, roles.admin],
  admin2: [roles.member, roles.admin],
  mod: [roles.member, roles.moderator],
  mod2: [roles.member, roles.moderator],
  member: [roles.member],
  member2: [roles.member],
  guest: [roles.guest],
  veteran: [roles.member, roles.senior],
} satisfies Record<string, RoleRow[]>;
type Who = keyof typeof holdings;

function accessOf(who: Who): MemberAccess {
  const member = { server_id: SERVER_ID, user_id: who, nickname: null, active: true, joined_at: created, muted: false, muted_until: null };
  return new MemberAccess(server, member, holdings[who]);
}

function targetNamed(who: Who) {
  return targetOf({ user_id: who, role_ids: holdings[who].map((held) => held.id) }, server.owner_id, communityRoles);
}

/** The plan, or the code of the refusal. */
function attempt(actor: Who, target: Who, input: UpdateMemberRequest): MemberUpdatePlan | string {
  try {
    return planMemberUpdate(accessOf(actor), targetNamed(target), communityRoles, input, now);
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

describe('targetOf', () => {
  it.each<[string, { user_id: string; role_ids: string[] }, number]>([
    ['the owner, whatever their roles', { user_id: 'owner', role_ids: ['guest'] }, OWNER_RANK],
    ['a member: their highest role', { user_id: 'u1', role_ids: ['member', 'moderator'] }, 500],
    ['a custom role above admin', { user_id: 'u1', role_ids: ['member', 'senior'] }, 950],
    ['no role', { user_id: 'u1', role_ids: [] }, 0],
    ['a role of another community counts for nothing', { user_id: 'u1', role_ids: ['elsewhere-admin', 'guest'] }, 10],
  ])('%s', (_label, member, rank) => {
    expect(targetOf(member, 'owner', communityRoles)).toEqual({ userId: member.user_id, rank, roleIds: member.role_ids });
  });
});

describe('planMemberUpdate', () => {
  describe('nickname: change_nickname for oneself, manage_nicknames and a higher rank for others', () => {
    it.each<[Who, Who, UpdateMemberRequest, MemberUpdatePlan | string]>([
      ['member', 'member', { nickname: 'Me' }, { nickname: 'Me' }],
      ['member', 'member', { nickname: null }, { nickname: null }],
      ['guest', 'guest', { nickname: 'Me' }, 'forbidden'],
      ['mod', 'mod', { nickname: 'Me' }, { nickname: 'Me' }],
      ['member', 'member2', { nickname: 'x' }, 'forbidden'],
      ['mod', 'member', { nickname: 'Renamed' }, { nickname: 'Renamed' }],
      ['mod', 'member', { nickname: null }, { nickname: null }],
      ['mod', 'mod2', { nickname: 'x' }, 'insufficient_rank'],
      ['mod', 'admin', { nickname: 'x' }, 'insufficient_rank'],
      ['admin', 'veteran', { nickname: 'x' }, 'insufficient_rank'],
      ['admin', 'owner', { nickname: 'x' }, 'insufficient_rank'],
      ['owner', 'admin', { nickname: 'x' }, { nickname: 'x' }],
    ])('%s renaming %s %j → %j', (actor, target, input, expected) => {
      expect(attempt(actor, target, input)).toEqual(expected);
    });
  });

  describe('roles: manage_roles, and only roles ranked below the actor are added or removed', () => {
    it.each<[string, Who, Who, string[], MemberUpdatePlan | string]>([
      ['without manage_roles', 'mod', 'member', ['member', 'guest'], 'forbidden'],
      ['promotes below the actor', 'admin', 'member', ['member', 'moderator'], { roles: { added: ['moderator'], removed: [] } }],
      ['demotes below the actor', 'admin', 'mod', ['member'], { roles: { added: [], removed: ['moderator'] } }],
      ['replaces a role', 'owner', 'member', ['senior'], { roles: { added: ['senior'], removed: ['member'] } }],
      ['changes nothing', 'admin', 'member', ['member'], { roles: { added: [], removed: [] } }],
      ['adds a role at the actor’s rank', 'admin', 'member', ['member', 'admin'], 'insufficient_rank'],
      ['adds a role above the actor', 'admin', 'member', ['member', 'senior'], 'insufficient_rank'],
      ['acts on a member of the same rank', 'admin', 'admin2', ['member'], 'insufficient_rank'],
      ['acts on a higher member', 'admin', 'veteran', ['member', 'senior', 'guest'], 'insufficient_rank'],
      ['acts on the owner', 'admin', 'owner', ['member'], 'insufficient_rank'],
      ['names a role the community does not have', 'admin', 'member', ['member', 'elsewhere'], 'role_not_found'],
      ['names an unknown role without manage_roles: forbidden first', 'mod', 'member', ['elsewhere'], 'forbidden'],
      ['the owner adds any role', 'owner', 'admin', ['member', 'admin', 'senior'], { roles: { added: ['senior'], removed: [] } }],
    ])('%s (%s on %s → %j)', (_label, actor, target, roleIds, expected) => {
      expect(attempt(actor, target, { roleIds })).toEqual(expected);
    });

    it.each<[string, Who, string[], MemberUpdatePlan | string]>([
      ['adds a lower role, keeping their own', 'admin', ['member', 'admin', 'guest'], { roles: { added: ['guest'], removed: [] } }],
      ['drops a lower role', 'admin', ['admin'], { roles: { added: [], removed: ['member'] } }],
      ['removes their own top role (at their rank)', 'admin', ['member'], 'insufficient_rank'],
      ['adds a role above their rank', 'admin', ['member', 'admin', 'senior'], 'insufficient_rank'],
      ['without manage_roles', 'mod', ['member'], 'forbidden'],
    ])('on oneself: %s', (_label, actor, roleIds, expected) => {
      expect(attempt(actor, actor, { roleIds })).toEqual(expected);
    });
  });

  describe('mute: mute_members and a strictly higher rank, so never oneself nor the owner', () => {
    it.each<[Who, Who, UpdateMemberRequest, MemberUpdatePlan | string]>([
      ['mod', 'member', { muted: true }, { mute: { muted: true, until: null } }],
      ['mod', 'member', { muted: true, muteDurationMs: 60_000 }, { mute: { muted: true, until: new Date(now.getTime() + 60_000) } }],
      ['mod', 'member', { muted: false }, { mute: { muted: false, until: null } }],
      ['mod', 'member', { muted: false, muteDurationMs: 60_000 }, { mute: { muted: false, until: null } }],
      ['member', 'guest', { muted: true }, 'forbidden'],
      ['mod', 'mod', { muted: true }, 'insufficient_rank'],
      ['mod', 'mod2', { muted: true }, 'insufficient_rank'],
      ['mod', 'admin', { muted: true }, 'insufficient_rank'],
      ['admin', 'owner', { muted: true }, 'insufficient_rank'],
      ['owner', 'owner', { muted: true }, 'insufficient_rank'],
      ['owner', 'veteran', { muted: true }, { mute: { muted: true, until: null } }],
    ])('%s muting %s %j → %j', (actor, target, input, expected) => {
      expect(attempt(actor, target, input)).toEqual(expected);
    });
  });

  describe('several fields: each under its own rule, all or nothing', () => {
    it.each<[string, Who, Who, UpdateMemberRequest, MemberUpdatePlan | string]>([
      ['nothing asked, nothing planned', 'member', 'guest', {}, {}],
      [
        'every field allowed',
        'admin',
        'member',
        { nickname: 'Nick', roleIds: ['member', 'guest'], muted: true },
        { nickname: 'Nick', roles: { added: ['guest'], removed: [] }, mute: { muted: true, until: null } },
      ],
      ['one role too high refuses the allowed nickname and mute', 'admin', 'member', { nickname: 'ok', muted: true, roleIds: ['admin'] }, 'insufficient_rank'],
      ['roles without manage_roles refuse the allowed nickname and mute', 'mod', 'member', { nickname: 'ok', muted: true, roleIds: [] }, 'forbidden'],
      ['a refused mute refuses the allowed nickname', 'member', 'member', { nickname: 'Me', muted: true }, 'forbidden'],
    ])('%s', (_label, actor, target, input, expected) => {
      expect(attempt(actor, target, input)).toEqual(expected);
    });
  });
});

describe('changedFields', () => {
  it.each<[MemberUpdatePlan, string[]]>([
    [{}, []],
    [{ nickname: 'Nick' }, ['nickname']],
    [{ nickname: null }, ['nickname']],
    [{ roles: { added: [], removed: [] } }, ['roleIds']],
    [{ mute: { muted: true, until: null } }, []],
    [{ nickname: 'Nick', roles: { added: ['guest'], removed: [] }, mute: { muted: false, until: null } }, ['nickname', 'roleIds']],
  ])('%j → %j', (plan, fields) => {
    expect(changedFields(plan)).toEqual(fields);
  });
});
