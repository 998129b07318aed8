import type { AuditLogRow, ChannelOverrideRow, ChannelRow, InviteRow, RoleRow, ServerRow } from '@parley/db';
import type {
  AuditEntry,
  Ban,
  Channel,
  ChannelPermission,
  Invite,
  JoinRequest,
  Member,
  Permission,
  Role,
  Server,
  ServerPreview,
} from '@parley/protocol';
import { PARLEY_VERSION } from '../../version.ts';
import { filePath } from '../media/file.mappers.ts';
import type { BanWithUser } from './moderation/ban.repository.ts';
import type { JoinRequestWithUser } from './membership/join-request.repository.ts';
import type { MemberWithUser } from './member.repository.ts';
import { isMuted } from './access/permissions.ts';

/** Rows to the public shapes of `@parley/protocol`. */

/** An uploaded icon wins over an icon URL. */
function iconUrlOf(row: ServerRow): string | null {
  return row.icon_file_id ? filePath(row.icon_file_id) : row.icon_url;
}

export function toServer(row: ServerRow): Server {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    iconUrl: iconUrlOf(row),
    iconFileId: row.icon_file_id,
    ownerId: row.owner_id,
    joinPolicy: row.join_policy,
    discoverable: row.discoverable,
    maxMembers: row.max_members,
    memberCount: row.member_count,
    createdAt: row.created_at.toISOString(),
  };
}

export function toPreview(row: ServerRow): ServerPreview {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    iconUrl: iconUrlOf(row),
    joinPolicy: row.join_policy,
    members: row.member_count,
    version: PARLEY_VERSION,
    createdAt: row.created_at.toISOString(),
  };
}

export function toChannel(row: ChannelRow, overrides: readonly ChannelOverrideRow[] = []): Channel {
  return {
    id: row.id,
    serverId: row.server_id,
    name: row.name,
    type: row.type,
    position: row.position,
    overrides: overrides
      .filter((override) => override.channel_id === row.id)
      .map((override) => ({
        roleId: override.role_id,
        allow: override.allow as ChannelPermission[],
        deny: override.deny as ChannelPermission[],
      })),
  };
}

export function toRole(row: RoleRow): Role {
  return {
    id: row.id,
    serverId: row.server_id,
    name: row.name,
    rank: row.rank,
    permissions: row.permissions as Permission[],
    builtin: row.builtin,
  };
}

export function toMember(row: MemberWithUser, server: Pick<ServerRow, 'owner_id'>, now: Date): Member {
  const muted = isMuted(row, now);
  return {
    serverId: row.server_id,
    userId: row.user_id,
    username: row.username,
    displayName: row.display_name,
    avatarFileId: row.avatar_file_id,
    nickname: row.nickname,
    roleIds: row.role_ids,
    isOwner: server.owner_id === row.user_id,
    muted,
    mutedUntil: muted && row.muted_until ? row.muted_until.toISOString() : null,
    joinedAt: row.joined_at.toISOString(),
  };
}

export function toInvite(row: InviteRow): Invite {
  return {
    code: row.code,
    serverId: row.server_id,
    createdBy: row.created_by,
    maxUses: row.max_uses,
    uses: row.uses,
    expiresAt: row.expires_at?.toISOString() ?? null,
    revoked: row.revoked_at !== null,
    note: row.note,
    createdAt: row.created_at.toISOString(),
  };
}

export function toBan(row: BanWithUser): Ban {
  return {
    serverId: row.server_id,
    userId: row.user_id,
    username: row.username,
    reason: row.reason,
    bannedBy: row.banned_by,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
  };
}

export function toJoinRequest(row: JoinRequestWithUser): JoinRequest {
  return {
    id: row.id,
    serverId: row.server_id,
    userId: row.user_id,
    username: row.username,
    displayName: row.display_name,
    message: row.message,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    decidedAt: row.decided_at?.toISOString() ?? null,
    decidedBy: row.decided_by,
  };
}

export function toAuditEntry(row: AuditLogRow): AuditEntry {
  return {
    id: row.id,
    serverId: row.server_id,
    actorId: row.actor_id,
    action: row.action,
    targetUserId: row.target_user_id,
    targetId: row.target_id,
    details: row.details,
    createdAt: row.created_at.toISOString(),
  };
}
