import { z } from 'zod';
import { id } from './ids.ts';
import { limits } from './limits.ts';
import { CLEAN_TEXT_MESSAGE, isCleanText, text } from './text.ts';
import { channelPermissions, permissions } from './permissions.ts';

/** Zod schemas of the community events and endpoints (see schemas.ts for the conventions). */

const serverName = text().trim().min(1).max(limits.serverName.max);
const serverDescription = text().trim().max(limits.serverDescription.max);
const channelName = text().trim().min(1).max(limits.channelName.max);
const nickname = text().trim().min(1).max(limits.nickname.max);
const serverPassword = text().min(limits.serverPassword.min).max(limits.serverPassword.max);
export const joinPolicies = ['open', 'invite', 'request', 'password'] as const;

const duration = (range: { min: number; max: number }) => z.number().int().min(range.min).max(range.max);

/** A list of distinct permission names. */
const permissionList = <T extends readonly [string, ...string[]]>(names: T) =>
  z
    .array(z.enum(names))
    .max(names.length)
    .refine((list) => new Set(list).size === list.length, { message: 'must not repeat a permission' });

export const createServerRequest = z.object({
  name: serverName,
  description: serverDescription.optional(),
});
export type CreateServerRequest = z.infer<typeof createServerRequest>;

/** `PUT /api/servers/:serverId`: the settings to change (at least one). */
export const updateServerRequest = z
  .object({
    name: serverName.optional(),
    /** Empty or null clears it. */
    description: serverDescription.nullable().optional(),
    /** An https URL; null clears it. */
    iconUrl: z
      .url({ protocol: /^https$/, error: 'must be an https:// URL' })
      .max(limits.iconUrl.max)
      .refine(isCleanText, CLEAN_TEXT_MESSAGE)
      .nullable()
      .optional(),
    /** One of the caller's uploaded images (purpose `icon`), processed; wins over `iconUrl`. Null removes it. */
    iconFileId: id.nullable().optional(),
    joinPolicy: z.enum(joinPolicies).optional(),
    /** The join password; required when switching to the `password` policy without one set. */
    password: serverPassword.optional(),
    discoverable: z.boolean().optional(),
    /** Null: no per-server cap. */
    maxMembers: z.number().int().min(1).max(limits.membersPerServer.max).nullable().optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), { message: 'must change something' });
export type UpdateServerRequest = z.infer<typeof updateServerRequest>;

/** `server:leave`, `server:details`, `server:info`: `serverId` may be omitted where `SERVER_NAME` runs one community. */
export const serverRefRequest = z.object({ serverId: id.optional() }).optional().transform((body) => body ?? {});
export type ServerRefRequest = z.input<typeof serverRefRequest>;

export const inviteCode = z
  .string()
  .trim()
  .min(1)
  .max(limits.inviteCode.max)
  .regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, "_" and "-"');

/** `server:join`. The seed's `identityToken` is accepted and ignored: the handshake already authenticated. */
export const serverJoinRequest = z.object({
  /** May be omitted where `SERVER_NAME` runs one community. */
  serverId: id.optional(),
  nickname: nickname.optional(),
  inviteCode: inviteCode.optional(),
  /** For `password` communities. */
  password: text().min(1).max(limits.serverPassword.max).optional(),
  /** For `request` communities: shown to the moderators with the join request. */
  message: text().trim().max(limits.joinRequestMessage.max).optional(),
});
export type ServerJoinRequest = z.input<typeof serverJoinRequest>;

export const createChannelRequest = z.object({
  name: channelName,
  type: z.enum(['text', 'voice']),
});
export type CreateChannelRequest = z.infer<typeof createChannelRequest>;

export const updateChannelRequest = z
  .object({
    name: channelName.optional(),
    position: z.number().int().min(0).max(limits.channelsPerServer.max).optional(),
  })
  .refine((body) => body.name !== undefined || body.position !== undefined, { message: 'must change name or position' });
export type UpdateChannelRequest = z.infer<typeof updateChannelRequest>;

/** `PUT /api/servers/:serverId/channels/:channelId/overrides/:roleId`. */
export const channelOverrideRequest = z
  .object({
    allow: permissionList(channelPermissions).default([]),
    deny: permissionList(channelPermissions).default([]),
  })
  .refine((body) => !body.allow.some((permission) => body.deny.includes(permission)), {
    message: 'a permission cannot be both allowed and denied',
  });
export type ChannelOverrideRequest = z.input<typeof channelOverrideRequest>;

const roleName = text().trim().min(1).max(limits.roleName.max);
/** Custom roles rank 1-999; the owner's 1000 is above them all. */
const roleRank = z.number().int().min(1).max(999);

export const createRoleRequest = z.object({
  name: roleName,
  rank: roleRank,
  permissions: permissionList(permissions).default([]),
});
export type CreateRoleRequest = z.input<typeof createRoleRequest>;

export const updateRoleRequest = z
  .object({ name: roleName.optional(), rank: roleRank.optional(), permissions: permissionList(permissions).optional() })
  .refine((body) => Object.values(body).some((value) => value !== undefined), { message: 'must change something' });
export type UpdateRoleRequest = z.input<typeof updateRoleRequest>;

/** `POST /api/servers/:serverId/invites`. */
export const createInviteRequest = z.object({
  /** Omitted: unlimited. */
  maxUses: z.number().int().min(1).max(limits.inviteMaxUses.max).optional(),
  /** Omitted: never expires. */
  expiresInMs: duration(limits.inviteLifetimeMs).optional(),
  note: text().trim().max(limits.inviteNote.max).optional(),
});
export type CreateInviteRequest = z.infer<typeof createInviteRequest>;

/** `PUT /api/servers/:serverId/members/:userId`: each field needs its own permission. */
export const updateMemberRequest = z
  .object({
    /** `change_nickname` for oneself, `manage_nicknames` for others; null clears it. */
    nickname: nickname.nullable().optional(),
    /** The complete set of roles (`manage_roles`; only roles ranked below the actor's). */
    roleIds: z
      .array(id)
      .max(limits.rolesPerMember.max)
      .refine((list) => new Set(list).size === list.length, { message: 'must not repeat a role' })
      .optional(),
    /** Server mute (`mute_members`). */
    muted: z.boolean().optional(),
    /** With `muted: true`: lift the mute after this long (default: until unmuted). */
    muteDurationMs: duration(limits.moderationDurationMs).optional(),
  })
  .refine((body) => body.nickname !== undefined || body.roleIds !== undefined || body.muted !== undefined, {
    message: 'must change nickname, roleIds or muted',
  })
  .refine((body) => body.muteDurationMs === undefined || body.muted === true, {
    message: 'muteDurationMs goes with muted: true',
    path: ['muteDurationMs'],
  });
export type UpdateMemberRequest = z.infer<typeof updateMemberRequest>;

/** `POST /api/servers/:serverId/bans`. */
export const createBanRequest = z.object({
  userId: id,
  reason: text().trim().max(limits.banReason.max).optional(),
  /** Omitted: until unbanned. */
  expiresInMs: duration(limits.moderationDurationMs).optional(),
  /** Also delete every message the user sent in the community. */
  purge: z.boolean().optional(),
});
export type CreateBanRequest = z.infer<typeof createBanRequest>;

/** `POST /api/servers/:serverId/requests`: ask to join a `request` community. */
export const createJoinRequestRequest = z.object({
  message: text().trim().max(limits.joinRequestMessage.max).optional(),
});
export type CreateJoinRequestRequest = z.infer<typeof createJoinRequestRequest>;

/** `PUT /api/requests/:id`. */
export const decideJoinRequestRequest = z.object({ status: z.enum(['approved', 'rejected']) });
export type DecideJoinRequestRequest = z.infer<typeof decideJoinRequestRequest>;

/** Query string of the paginated REST lists. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).transform((n) => Math.min(n, limits.page.max)).optional(),
  /** Opaque: the previous page's `nextCursor`. */
  cursor: text().min(1).max(200).optional(),
});
export type PageQuery = z.output<typeof pageQuery>;

/** `GET /api/servers/search?q=`. */
export const searchQuery = pageQuery.extend({
  q: text().trim().min(limits.searchQuery.min).max(limits.searchQuery.max),
});
export type SearchQuery = z.output<typeof searchQuery>;
