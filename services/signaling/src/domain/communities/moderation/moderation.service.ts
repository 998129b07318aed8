import {
  limits,
  type AuditEntry,
  type Ban,
  type CreateBanRequest,
  type Member,
  type MemberPage,
  type Page,
  type UpdateMemberRequest,
} from '@parley/protocol';
import { z } from 'zod';
import type { Clock } from '../../../clock.ts';
import { AppError } from '../../../errors.ts';
import type { Realtime } from '../../../realtime/realtime.ts';
import { rooms } from '../../../realtime/rooms.ts';
import type { Actor } from '../../accounts/actor.ts';
import type { Repositories, Store } from '../../store.ts';
import { removeFromCommunity } from '../community-rooms.ts';
import type { LiveState } from '../live-state.ts';
import { toAuditEntry, toBan, toMember } from '../community.mappers.ts';
import { loadAccess, rankOfMember } from '../access/member-access.ts';
import { changedFields, planMemberUpdate, targetOf } from './moderation.rules.ts';
import { decodeCursor, pageOf } from '../../page-cursor.ts';

/** A page request of the REST lists; `limit` defaults to `limits.page.default`. */
export interface PageRequest {
  limit?: number | undefined;
  cursor?: string | undefined;
}

const memberCursor = z.object({
  // Postgres rejects year 0; everything else the ISO pattern allows it accepts.
  joinedAt: z.iso.datetime({ precision: 6 }).refine((value) => Date.parse(value) >= 0),
  userId: z.uuid(),
});
const banCursor = z.object({ createdAt: z.iso.datetime(), userId: z.uuid() });
const auditCursor = z.object({ id: z.number().int().positive() });

/**
 * Moderation of a community's members: nicknames, role grants, server
 * mutes, kicks and bans, and the lists moderators read (members, bans, audit log).
 * Each change and its audit entry commit together; members hear of it after the commit.
 */
export class ModerationService {
  readonly #store: Store;
  readonly #realtime: Realtime;
  readonly #clock: Clock;
  readonly #liveState: LiveState;

  constructor(deps: { store: Store; realtime: Realtime; clock: Clock; liveState: LiveState }) {
    this.#store = deps.store;
    this.#realtime = deps.realtime;
    this.#clock = deps.clock;
    this.#liveState = deps.liveState;
  }

  /**
   * Active members in join order, with their presence; members only.
   * Throws `server_not_found`, `not_a_member`, `invalid_payload` (cursor).
   */
  async listMembers(actor: Actor, serverId: string, page: PageRequest): Promise<MemberPage> {
    const repos = this.#store.repos;
    const access = await loadAccess(repos, serverId, actor.userId);
    const limit = page.limit ?? limits.page.default;
    const after = decodeCursor(page.cursor, memberCursor);
    const rows = await repos.members.listPage(serverId, {
      after: after && { joinedAtExact: after.joinedAt, userId: after.userId },
      limit: limit + 1,
    });
    const now = this.#clock.now();
    const positionOf = (row: (typeof rows)[number]) => ({ joinedAt: row.joined_at_exact, userId: row.user_id });
    const members = pageOf(rows, limit, positionOf, (row) => toMember(row, access.server, now));
    const statuses = await this.#liveState.statuses(members.items.map((member) => member.userId));
    const presence = Object.fromEntries(members.items.map(({ userId }) => [userId, statuses.get(userId) ?? 'offline']));
    return { ...members, presence };
  }

  /**
   * Changes a member's nickname, roles (the complete new set) and server
   * mute, each under its own rule (see moderation.rules.ts); all or nothing.
   * Throws `server_not_found`, `not_a_member`, `member_not_found`,
   * `forbidden`, `insufficient_rank`, `role_not_found`.
   */
  async updateMember(actor: Actor, serverId: string, targetUserId: string, input: UpdateMemberRequest): Promise<Member> {
    const now = this.#clock.now();
    const { member, rolesChanged, mute } = await this.#store.transaction(async (repos) => {
      const access = await loadAccess(repos, serverId, actor.userId);
      const [found, communityRoles] = await Promise.all([
        repos.members.getWithUser(serverId, targetUserId),
        repos.roles.listByServer(serverId),
      ]);
      if (!found) throw new AppError('member_not_found');
      const plan = planMemberUpdate(access, targetOf(found, access.server.owner_id, communityRoles), communityRoles, input, now);

      if (plan.nickname !== undefined || plan.mute) {
        await repos.members.update(serverId, targetUserId, {
          nickname: plan.nickname,
          muted: plan.mute?.muted,
          mutedUntil: plan.mute ? plan.mute.until : undefined,
        });
      }
      if (plan.roles) {
        await repos.roles.revoke(serverId, targetUserId, plan.roles.removed);
        await repos.roles.grant(serverId, targetUserId, plan.roles.added);
      }
      const audit = { serverId, actorId: actor.userId, targetUserId };
      const fields = changedFields(plan);
      if (fields.length > 0) {
        const details = {
          fields,
          ...(plan.nickname === undefined ? {} : { nickname: plan.nickname }),
          ...(plan.roles ? { addedRoleIds: plan.roles.added, removedRoleIds: plan.roles.removed } : {}),
        };
        await repos.auditLog.append({ ...audit, action: 'member.update', details });
      }
      if (plan.mute) {
        const until = plan.mute.until?.toISOString() ?? null;
        await repos.auditLog.append({ ...audit, action: plan.mute.muted ? 'member.mute' : 'member.unmute', details: { until } });
      }
      const updated = await repos.members.getWithUser(serverId, targetUserId);
      if (!updated) throw new AppError('member_not_found');
      const rolesChanged = plan.roles !== undefined && plan.roles.added.length + plan.roles.removed.length > 0;
      return { member: toMember(updated, access.server, now), rolesChanged, mute: plan.mute };
    });
    // Every pod forgets the access it remembers before any client hears of the change.
    if (rolesChanged) this.#realtime.refreshRooms(serverId, [targetUserId]);
    else if (mute) this.#realtime.accessChanged(serverId);
    this.#realtime.emit(rooms.server(serverId), 'server:member_updated', { serverId, member });
    if (mute || rolesChanged) await this.#liveState.accessChanged(serverId, [targetUserId]);
    return member;
  }

  /**
   * Removes a member (they may rejoin). Needs `kick_members` and a rank above
   * theirs. Throws `server_not_found`, `not_a_member`, `member_not_found`, `forbidden`, `insufficient_rank`.
   */
  async kick(actor: Actor, serverId: string, targetUserId: string): Promise<void> {
    const { channelIds, memberCount } = await this.#store.transaction(async (repos) => {
      const access = await loadAccess(repos, serverId, actor.userId);
      access.require('kick_members');
      if (targetUserId === actor.userId) throw new AppError('forbidden', 'Leave the server instead of kicking yourself');
      access.requireOutranks(await rankOfMember(repos, access.server, targetUserId));
      if (!(await this.#removeMember(repos, serverId, targetUserId))) throw new AppError('member_not_found');
      await repos.auditLog.append({ serverId, actorId: actor.userId, action: 'member.kick', targetUserId });
      const channelIds = (await repos.channels.listByServer(serverId)).map((channel) => channel.id);
      return { channelIds, memberCount: access.server.member_count };
    });
    removeFromCommunity(this.#realtime, { serverId, userId: targetUserId, channelIds, reason: 'kicked', memberCount });
    await this.#liveState.memberRemoved(serverId, targetUserId);
  }

  /**
   * Bans a user, member or not (a member only with a rank above theirs), or
   * replaces the terms of their ban; a member is removed, and with `purge`
   * every message they wrote in the community is deleted. Needs `ban_members`.
   * Throws `server_not_found`, `not_a_member`, `member_not_found` (no such
   * user), `forbidden` (also for oneself), `insufficient_rank`.
   */
  async ban(actor: Actor, serverId: string, input: CreateBanRequest): Promise<Ban> {
    const now = this.#clock.now();
    const targetUserId = input.userId.toLowerCase();
    const { ban, removedChannelIds, memberCount } = await this.#store.transaction(async (repos) => {
      const access = await loadAccess(repos, serverId, actor.userId);
      access.require('ban_members');
      if (targetUserId === actor.userId) throw new AppError('forbidden', 'You cannot ban yourself');
      const [user, member] = await Promise.all([repos.users.get(targetUserId), repos.members.getActive(serverId, targetUserId)]);
      if (!user) throw new AppError('member_not_found');
      if (member || access.server.owner_id === targetUserId) {
        access.requireOutranks(await rankOfMember(repos, access.server, targetUserId));
      }

      const expiresAt = input.expiresInMs === undefined ? null : new Date(now.getTime() + input.expiresInMs);
      const reason = input.reason || null;
      const row = await repos.bans.upsert({ serverId, userId: targetUserId, reason, bannedBy: actor.userId, expiresAt, now });
      const wasMember = member !== undefined && (await this.#removeMember(repos, serverId, targetUserId));
      const purged = input.purge ? await repos.messages.purgeAuthor(serverId, targetUserId, now) : 0;
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'member.ban',
        targetUserId,
        details: { reason, expiresAt: expiresAt?.toISOString() ?? null, purged },
      });
      const removedChannelIds = wasMember ? (await repos.channels.listByServer(serverId)).map((channel) => channel.id) : undefined;
      return { ban: toBan({ ...row, username: user.username }), removedChannelIds, memberCount: access.server.member_count };
    });
    // Purged messages are not announced one by one: clients refetch history when they hear of the ban.
    if (removedChannelIds) {
      const removal = { serverId, userId: targetUserId, channelIds: removedChannelIds, reason: 'banned' as const, memberCount };
      removeFromCommunity(this.#realtime, removal);
      await this.#liveState.memberRemoved(serverId, targetUserId);
    }
    return ban;
  }

  /** Lifts a ban in force. Needs `ban_members`. Throws `server_not_found`, `not_a_member`, `forbidden`, `ban_not_found`. */
  async unban(actor: Actor, serverId: string, targetUserId: string): Promise<void> {
    await this.#store.transaction(async (repos) => {
      const access = await loadAccess(repos, serverId, actor.userId);
      access.require('ban_members');
      if (!(await repos.bans.getActive(serverId, targetUserId, this.#clock.now()))) throw new AppError('ban_not_found');
      await repos.bans.delete(serverId, targetUserId);
      await repos.auditLog.append({ serverId, actorId: actor.userId, action: 'member.unban', targetUserId });
    });
  }

  /** Bans in force, newest first. Needs `ban_members`. Throws `server_not_found`, `not_a_member`, `forbidden`, `invalid_payload`. */
  async listBans(actor: Actor, serverId: string, page: PageRequest): Promise<Page<Ban>> {
    const repos = this.#store.repos;
    const access = await loadAccess(repos, serverId, actor.userId);
    access.require('ban_members');
    const limit = page.limit ?? limits.page.default;
    const before = decodeCursor(page.cursor, banCursor);
    const rows = await repos.bans.list(serverId, {
      now: this.#clock.now(),
      before: before && { createdAt: new Date(before.createdAt), userId: before.userId },
      limit: limit + 1,
    });
    return pageOf(rows, limit, (row) => ({ createdAt: row.created_at.toISOString(), userId: row.user_id }), toBan);
  }

  /**
   * The community's audit log, newest first. Needs `view_audit_log`.
   * Throws `server_not_found`, `not_a_member`, `forbidden`, `invalid_payload`.
   */
  async listAuditLog(actor: Actor, serverId: string, page: PageRequest): Promise<Page<AuditEntry>> {
    const repos = this.#store.repos;
    const access = await loadAccess(repos, serverId, actor.userId);
    access.require('view_audit_log');
    const limit = page.limit ?? limits.page.default;
    const before = decodeCursor(page.cursor, auditCursor);
    const rows = await repos.auditLog.list(serverId, { before: before?.id, limit: limit + 1 });
    return pageOf(rows, limit, (row) => ({ id: row.id }), toAuditEntry);
  }

  /** Ends an active membership and counts one member less; false when it was not active. */
  async #removeMember(repos: Repositories, serverId: string, userId: string): Promise<boolean> {
    if (!(await repos.members.deactivate(serverId, userId))) return false;
    await repos.servers.removeMember(serverId);
    return true;
  }
}
