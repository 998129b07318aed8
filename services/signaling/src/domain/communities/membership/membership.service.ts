import type { ServerRow } from '@parley/db';
import type { ServerDetails, ServerJoined, ServerJoinRequest, ServerPreview } from '@parley/protocol';
import { limits } from '@parley/protocol';
import type { Clock } from '../../../clock.ts';
import { AppError } from '../../../errors.ts';
import type { AttemptGuard } from '../../../rate-limit/attempt-guard.ts';
import type { Realtime } from '../../../realtime/realtime.ts';
import { rooms } from '../../../realtime/rooms.ts';
import type { Actor } from '../../accounts/actor.ts';
import type { PasswordHasher } from '../../accounts/password-hasher.ts';
import type { ActivityRecorder } from '../../discovery/activity-recorder.ts';
import type { Repositories, Store } from '../../store.ts';
import { admitMember, admitMemberCountedLater } from './admission.ts';
import { MemberCounts } from './member-counts.ts';
import type { ChannelAccess } from '../access/channel-access.ts';
import type { CommunityService } from '../community.service.ts';
import { toChannel, toMember, toPreview, toRole, toServer } from '../community.mappers.ts';
import { announcesMembers, removeFromCommunity } from '../community-rooms.ts';
import { requestToJoin } from './join-request.rules.ts';
import type { LiveState } from '../live-state.ts';
import { loadAccess } from '../access/member-access.ts';

/** Where a join attempt comes from: brute-force protection counts per (user, IP) and per IP. */
export interface JoinContext {
  ip: string;
}

/** How a user got in; recorded in the audit log. */
type JoinRoute = 'bootstrap' | 'open' | 'invite' | 'password';

/** Joining and leaving communities, and what members and visitors see of them. */
export class MembershipService {
  readonly #store: Store;
  readonly #realtime: Realtime;
  readonly #clock: Clock;
  readonly #hasher: PasswordHasher;
  readonly #joinAttempts: AttemptGuard;
  readonly #activity: ActivityRecorder;
  readonly #communities: CommunityService;
  readonly #access: ChannelAccess;
  readonly #liveState: LiveState;
  readonly #memberCounts: MemberCounts;

  constructor(deps: {
    store: Store;
    realtime: Realtime;
    clock: Clock;
    hasher: PasswordHasher;
    joinAttempts: AttemptGuard;
    activity: ActivityRecorder;
    communities: CommunityService;
    access: ChannelAccess;
    liveState: LiveState;
  }) {
    this.#store = deps.store;
    this.#realtime = deps.realtime;
    this.#clock = deps.clock;
    this.#hasher = deps.hasher;
    this.#liveState = deps.liveState;
    this.#joinAttempts = deps.joinAttempts;
    this.#activity = deps.activity;
    this.#communities = deps.communities;
    this.#access = deps.access;
    this.#memberCounts = new MemberCounts(deps.store);
  }

  /**
   * Joins a community by its policy. The first user to join a community
   * without an owner (the `SERVER_NAME` bootstrap) claims it, race-free: the
   * claim is a conditional update. A valid invite admits under every policy.
   * Throws `server_not_found`, `banned`, `invite_required`, `invalid_invite`,
   * `server_password_required`, `invalid_server_password`, `too_many_attempts`,
   * `join_request_pending`, `join_request_rejected`, `server_full`.
   */
  async join(actor: Actor, input: ServerJoinRequest, context: JoinContext): Promise<ServerJoined> {
    const serverId = this.#communities.resolveServerId(input.serverId);
    const now = this.#clock.now();
    const repos = this.#store.repos;
    const [server, ban, member] = await Promise.all([
      repos.servers.get(serverId),
      repos.bans.getActive(serverId, actor.userId, now),
      repos.members.getActive(serverId, actor.userId),
    ]);
    if (!server) throw new AppError('server_not_found');
    if (ban) {
      const retryAfterMs = ban.expires_at ? ban.expires_at.getTime() - now.getTime() : undefined;
      throw new AppError('banned', undefined, retryAfterMs === undefined ? {} : { retryAfterMs });
    }
    if (member) {
      return { serverId, nickname: member.nickname, isOwner: server.owner_id === actor.userId, setupRequired: false, joined: false };
    }
    const nickname = input.nickname ?? null;
    if (server.owner_id === null) {
      const claimed = await this.#claim(server, actor, nickname);
      if (claimed) return claimed;
    }
    if (input.inviteCode !== undefined) return this.#joinWithInvite(server, actor, nickname, input.inviteCode, context);
    switch (server.join_policy) {
      case 'open':
        return this.#admit(server, actor, nickname, 'open');
      case 'invite':
        throw new AppError('invite_required');
      case 'password':
        if (input.password === undefined) throw new AppError('server_password_required');
        return this.#joinWithPassword(server, actor, nickname, input.password, context);
      case 'request':
        await requestToJoin(this.#store, { server, userId: actor.userId, message: input.message ?? null, now });
        throw new AppError('join_request_pending', 'Your request to join was sent; a moderator will review it');
    }
  }

  /** Leaves a community: the membership is deactivated and every connection leaves its rooms. */
  async leave(actor: Actor, serverId: string): Promise<void> {
    const { channelIds, memberCount } = await this.#store.transaction(async (repos) => {
      const server = await repos.servers.get(serverId);
      if (!server) throw new AppError('server_not_found');
      if (server.owner_id === actor.userId) throw new AppError('owner_cannot_leave');
      if (!(await repos.members.deactivate(serverId, actor.userId))) throw new AppError('not_a_member');
      await repos.servers.removeMember(serverId);
      const channelIds = (await repos.channels.listByServer(serverId)).map((channel) => channel.id);
      return { channelIds, memberCount: server.member_count };
    });
    removeFromCommunity(this.#realtime, { serverId, userId: actor.userId, channelIds, reason: 'left', memberCount });
    await this.#liveState.memberRemoved(serverId, actor.userId);
  }

  /**
   * Everything a member's UI shows: the channels they can see, roles, the
   * first members and their presence, who is in which voice channel, their own permissions.
   */
  async details(actor: Actor, serverId: string): Promise<ServerDetails> {
    const repos = this.#store.repos;
    const access = await loadAccess(repos, serverId, actor.userId);
    const [channels, roles, members, self] = await Promise.all([
      repos.channels.listByServer(serverId),
      repos.roles.listByServer(serverId),
      repos.members.list(serverId, { limit: limits.detailsMembers.max }),
      repos.members.getWithUser(serverId, actor.userId),
    ]);
    const overrides = await repos.channels.listOverrides(channels.map((channel) => channel.id));
    const visible = access.viewable(channels, overrides);
    const voiceChannelIds = visible.filter((channel) => channel.type === 'voice').map((channel) => channel.id);
    const [statuses, voice] = await Promise.all([
      this.#liveState.statuses(members.map((member) => member.user_id)),
      this.#liveState.voiceChannels(voiceChannelIds),
    ]);
    const now = this.#clock.now();
    return {
      server: toServer(access.server),
      channels: visible.map((channel) => toChannel(channel, overrides)),
      roles: roles.map(toRole),
      members: members.map((member) => toMember(member, access.server, now)),
      me: { member: toMember(self!, access.server, now), rank: access.rank, permissions: [...access.permissions] },
      presence: Object.fromEntries(members.map((member) => [member.user_id, statuses.get(member.user_id) ?? 'offline'])),
      voice,
    };
  }

  /** The public preview of any community; no membership needed. */
  async info(serverId: string): Promise<ServerPreview> {
    const server = await this.#store.repos.servers.get(serverId);
    if (!server) throw new AppError('server_not_found');
    return toPreview(server);
  }

  /** Claims an ownerless community and joins it; undefined when another user claimed it first. */
  async #claim(server: ServerRow, actor: Actor, nickname: string | null): Promise<ServerJoined | undefined> {
    const claimed = await this.#store.transaction(async (repos) => {
      if (!(await repos.servers.claimOwnership(server.id, actor.userId))) return false;
      await admitMember(repos, { server, userId: actor.userId, nickname });
      await repos.auditLog.append({ serverId: server.id, actorId: actor.userId, action: 'server.claim_ownership' });
      return true;
    });
    if (!claimed) return undefined;
    await this.#announceJoin(server.id, actor.userId);
    return { serverId: server.id, nickname, isOwner: true, setupRequired: true, joined: true };
  }

  async #joinWithInvite(
    server: ServerRow,
    actor: Actor,
    nickname: string | null,
    code: string,
    context: JoinContext,
  ): Promise<ServerJoined> {
    await this.#guard(actor, context);
    const now = this.#clock.now();
    const joined = await this.#admit(server, actor, nickname, 'invite', async (repos) => {
      if (!(await repos.invites.consume(server.id, code, now))) throw new AppError('invalid_invite');
    }).catch((error: unknown) => this.#countFailure(error, 'invalid_invite', actor, context));
    await this.#joinAttempts.recordSuccess(actor.userId, context.ip);
    return joined;
  }

  async #joinWithPassword(
    server: ServerRow,
    actor: Actor,
    nickname: string | null,
    password: string,
    context: JoinContext,
  ): Promise<ServerJoined> {
    await this.#guard(actor, context);
    const valid = server.password_hash !== null && (await this.#hasher.verify(server.password_hash, password));
    if (!valid) await this.#countFailure(new AppError('invalid_server_password'), 'invalid_server_password', actor, context);
    const joined = await this.#admit(server, actor, nickname, 'password');
    await this.#joinAttempts.recordSuccess(actor.userId, context.ip);
    return joined;
  }

  /** Throws `too_many_attempts` while (user, IP) or the IP is locked out. */
  async #guard(actor: Actor, context: JoinContext): Promise<void> {
    const verdict = await this.#joinAttempts.check(actor.userId, context.ip);
    if (!verdict.allowed) throw new AppError('too_many_attempts', undefined, { retryAfterMs: verdict.retryAfterMs });
  }

  /** Rethrows `error`; when it is the wrong-secret `code`, counts a failure first and says when a lockout began. */
  async #countFailure(error: unknown, code: 'invalid_invite' | 'invalid_server_password', actor: Actor, context: JoinContext): Promise<never> {
    if (!(error instanceof AppError) || error.code !== code) throw error;
    const verdict = await this.#joinAttempts.recordFailure(actor.userId, context.ip);
    throw new AppError(code, undefined, verdict.allowed ? {} : { retryAfterMs: verdict.retryAfterMs });
  }

  /**
   * Admits the actor (in one statement, or in one transaction after
   * `precondition`, such as spending an invite). The member count is recounted after the
   * commit, before the answer, so the count a member reads includes them.
   */
  async #admit(
    server: ServerRow,
    actor: Actor,
    nickname: string | null,
    route: JoinRoute,
    precondition?: (repos: Repositories) => Promise<void>,
  ): Promise<ServerJoined> {
    const audit = { serverId: server.id, actorId: actor.userId, action: 'member.join' as const, details: { route } };
    const admission = { server, userId: actor.userId, nickname, audit };
    const joined =
      (precondition
        ? await this.#store.transaction(async (repos) => {
            await precondition(repos);
            return admitMemberCountedLater(repos, admission);
          })
        : await admitMemberCountedLater(this.#store.repos, admission)) !== undefined;
    if (joined) {
      const memberCount = await this.#memberCounts.refresh(server.id);
      await this.#announceJoin(server.id, actor.userId, memberCount);
    }
    return { serverId: server.id, nickname, isOwner: false, setupRequired: false, joined };
  }

  /**
   * Puts every connection of a new member, on every pod, into the community's
   * rooms and tells the members. Also used when a join request is approved.
   */
  async #announceJoin(serverId: string, userId: string, memberCount?: number): Promise<void> {
    const deps = { store: this.#store, realtime: this.#realtime, access: this.#access, clock: this.#clock };
    await announceJoin(deps, serverId, userId, memberCount);
    this.#activity.recordJoin(serverId);
  }
}

/**
 * See MembershipService#announceJoin. With `memberCount` (just recounted),
 * a community too large to announce joins costs no reads for the announcement.
 */
export async function announceJoin(
  deps: { store: Store; realtime: Realtime; access: ChannelAccess; clock: Clock },
  serverId: string,
  userId: string,
  memberCount?: number,
): Promise<void> {
  const announces = memberCount === undefined || announcesMembers(memberCount);
  const [{ byUser }, server, member] = await Promise.all([
    deps.access.visibleChannels(serverId, [userId]),
    announces ? deps.store.repos.servers.get(serverId) : undefined,
    announces ? deps.store.repos.members.getWithUser(serverId, userId) : undefined,
  ]);
  deps.realtime.addUserToRooms(userId, [rooms.server(serverId), ...(byUser.get(userId) ?? []).map(rooms.channel)]);
  if (server && member && announcesMembers(server.member_count)) {
    deps.realtime.emit(rooms.server(serverId), 'server:member_joined', {
      serverId,
      member: toMember(member, server, deps.clock.now()),
    });
  }
}
