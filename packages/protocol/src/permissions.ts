/**
 * What a member may do in a community. Each role grants a set of these; a
 * member holds the union of their roles' permissions, and the owner holds all.
 */
export const permissions = [
  /** See the community's channels and read their messages. */
  'view_channels',
  /** Send messages in text channels. */
  'send_messages',
  /** Delete other members' messages. */
  'manage_messages',
  /** Join voice channels. */
  'connect_voice',
  /** Transmit audio in voice channels. */
  'speak',
  /** Set one's own nickname. */
  'change_nickname',
  /** Set other members' nicknames. */
  'manage_nicknames',
  /** Create invites. */
  'create_invites',
  /** List and revoke every invite, not only one's own. */
  'manage_invites',
  'kick_members',
  'ban_members',
  /** Server-mute and unmute members. */
  'mute_members',
  /** Approve and reject join requests. */
  'manage_requests',
  /** Create, rename, reorder and delete channels; set their permission overrides. */
  'manage_channels',
  /** Create, edit, delete and assign roles ranked below one's own. */
  'manage_roles',
  /** Change the community's settings: name, description, join policy, discoverability, size. */
  'manage_server',
  'view_audit_log',
] as const;
export type Permission = (typeof permissions)[number];

/** The permissions a channel's overrides may allow or deny for a role. */
export const channelPermissions = [
  'view_channels',
  'send_messages',
  'manage_messages',
  'connect_voice',
  'speak',
] as const satisfies readonly Permission[];
export type ChannelPermission = (typeof channelPermissions)[number];

export type BuiltinRole = 'admin' | 'moderator' | 'member' | 'guest';

/** The rank of a community's owner: above every role. */
export const OWNER_RANK = 1000;

const memberPermissions: Permission[] = ['view_channels', 'send_messages', 'connect_voice', 'speak', 'change_nickname'];
const moderatorPermissions: Permission[] = [
  ...memberPermissions,
  'manage_messages',
  'manage_nicknames',
  'create_invites',
  'kick_members',
  'ban_members',
  'mute_members',
  'manage_requests',
  'view_audit_log',
];

/**
 * The roles every community starts with. Their rank is fixed; their
 * permissions can be changed. Every member holds `member` unless demoted to
 * `guest`; custom roles rank between 1 and 999 (below the owner's 1000).
 */
export const builtinRoles: Record<BuiltinRole, { name: string; rank: number; permissions: readonly Permission[] }> = {
  admin: {
    name: 'Admin',
    rank: 900,
    permissions: [...moderatorPermissions, 'manage_invites', 'manage_channels', 'manage_roles', 'manage_server'],
  },
  moderator: { name: 'Moderator', rank: 500, permissions: moderatorPermissions },
  member: { name: 'Member', rank: 100, permissions: memberPermissions },
  guest: { name: 'Guest', rank: 10, permissions: ['view_channels'] },
};
