import type { ChannelOverrideRow, ChannelRow, MemberRow, RoleRow } from '@parley/db';
import { channelPermissions, OWNER_RANK, permissions, type Permission } from '@parley/protocol';

const allPermissions: ReadonlySet<Permission> = new Set(permissions);
const overridable: ReadonlySet<string> = new Set(channelPermissions);

/** Who a member is in their community: owner or not, and the roles they hold. */
export interface Grant {
  isOwner: boolean;
  roles: ReadonlyArray<Pick<RoleRow, 'id' | 'rank' | 'permissions'>>;
}

/** The owner outranks everyone; others rank as their highest role (0 with none). */
export function rankOf(grant: Grant): number {
  if (grant.isOwner) return OWNER_RANK;
  return Math.max(0, ...grant.roles.map((role) => role.rank));
}

/** The union of the member's roles' permissions; the owner holds them all. */
export function serverPermissions(grant: Grant): Set<Permission> {
  if (grant.isOwner) return new Set(allPermissions);
  const granted = new Set<Permission>();
  for (const role of grant.roles) {
    for (const permission of role.permissions) if (allPermissions.has(permission as Permission)) granted.add(permission as Permission);
  }
  return granted;
}

/**
 * The member's permissions in one channel: the server-wide set, then every
 * override of a role they hold denies, then every such override allows (so
 * an allow on any of their roles beats a deny on another). The owner is not
 * subject to overrides.
 */
export function channelPermissionsOf(
  grant: Grant,
  overrides: ReadonlyArray<Pick<ChannelOverrideRow, 'role_id' | 'allow' | 'deny'>>,
): Set<Permission> {
  const granted = serverPermissions(grant);
  if (grant.isOwner) return granted;
  const held = new Set(grant.roles.map((role) => role.id));
  const applicable = overrides.filter((override) => held.has(override.role_id));
  for (const override of applicable) {
    for (const permission of override.deny) if (overridable.has(permission)) granted.delete(permission as Permission);
  }
  for (const override of applicable) {
    for (const permission of override.allow) if (overridable.has(permission)) granted.add(permission as Permission);
  }
  return granted;
}

/** A server mute is in force while set and not yet expired. */
export function isMuted(member: Pick<MemberRow, 'muted' | 'muted_until'>, now: Date): boolean {
  return member.muted && (member.muted_until === null || member.muted_until > now);
}

/** The channels among `channels` the member may view, given all their overrides. */
export function viewableChannels<C extends Pick<ChannelRow, 'id'>>(
  grant: Grant,
  channels: readonly C[],
  overrides: ReadonlyArray<Pick<ChannelOverrideRow, 'channel_id' | 'role_id' | 'allow' | 'deny'>>,
): C[] {
  return channels.filter((channel) =>
    channelPermissionsOf(grant, overrides.filter((override) => override.channel_id === channel.id)).has('view_channels'),
  );
}
