import type { RoleRow } from '@parley/db';
import { OWNER_RANK, type UpdateMemberRequest } from '@parley/protocol';
import { AppError } from '../../../errors.ts';
import type { MemberAccess } from '../access/member-access.ts';
import { rankOf } from '../access/permissions.ts';

/** The member a moderation action targets, as the rules need them. */
export interface ModerationTarget {
  userId: string;
  rank: number;
  roleIds: readonly string[];
}

/** What an accepted member update writes; a field is absent when the request left it alone. */
export interface MemberUpdatePlan {
  nickname?: string | null;
  roles?: { added: string[]; removed: string[] };
  mute?: { muted: boolean; until: Date | null };
}

/** The target's rank: the owner's, or their highest role's among `communityRoles`. */
export function targetOf(
  member: { user_id: string; role_ids: readonly string[] },
  ownerId: string | null,
  communityRoles: readonly RoleRow[],
): ModerationTarget {
  const held = communityRoles.filter((role) => member.role_ids.includes(role.id));
  const rank = member.user_id === ownerId ? OWNER_RANK : rankOf({ isOwner: false, roles: held });
  return { userId: member.user_id, rank, roleIds: member.role_ids };
}

/**
 * Checks every field of a member update against its own rule and returns
 * what to write; throws on the first field the actor may not change, before
 * anything is written. Throws `forbidden`, `insufficient_rank`, `role_not_found`.
 */
export function planMemberUpdate(
  access: MemberAccess,
  target: ModerationTarget,
  communityRoles: readonly RoleRow[],
  input: UpdateMemberRequest,
  now: Date,
): MemberUpdatePlan {
  const self = target.userId === access.member.user_id;
  const plan: MemberUpdatePlan = {};

  if (input.nickname !== undefined) {
    if (self) {
      access.require('change_nickname');
    } else {
      access.require('manage_nicknames');
      access.requireOutranks(target.rank);
    }
    plan.nickname = input.nickname;
  }

  const next = input.roleIds;
  if (next !== undefined) {
    access.require('manage_roles');
    // One's own roles may change too, but only those below one's rank (checked per role below).
    if (!self) access.requireOutranks(target.rank);
    const rankById = new Map(communityRoles.map((role) => [role.id, role.rank]));
    if (next.some((id) => !rankById.has(id))) throw new AppError('role_not_found');
    const added = next.filter((id) => !target.roleIds.includes(id));
    const removed = target.roleIds.filter((id) => !next.includes(id));
    for (const id of [...added, ...removed]) access.requireOutranks(rankById.get(id) ?? OWNER_RANK);
    plan.roles = { added, removed };
  }

  if (input.muted !== undefined) {
    access.require('mute_members');
    // Strictly above, so nobody mutes themselves and nobody mutes the owner.
    access.requireOutranks(target.rank);
    const until = input.muted && input.muteDurationMs !== undefined ? new Date(now.getTime() + input.muteDurationMs) : null;
    plan.mute = { muted: input.muted, until };
  }

  return plan;
}

/** The fields a plan changes, for the audit log (the mute is audited on its own). */
export function changedFields(plan: MemberUpdatePlan): string[] {
  return [...(plan.nickname === undefined ? [] : ['nickname']), ...(plan.roles ? ['roleIds'] : [])];
}
