import type { JoinRequest, Page } from '@parley/protocol';
import { z } from 'zod';
import type { Clock } from '../../../clock.ts';
import { AppError } from '../../../errors.ts';
import type { Realtime } from '../../../realtime/realtime.ts';
import { rooms } from '../../../realtime/rooms.ts';
import type { Actor } from '../../accounts/actor.ts';
import type { ActivityRecorder } from '../../discovery/activity-recorder.ts';
import type { Store } from '../../store.ts';
import { admitMember } from './admission.ts';
import type { ChannelAccess } from '../access/channel-access.ts';
import { toJoinRequest } from '../community.mappers.ts';
import { requestToJoin } from './join-request.rules.ts';
import { loadAccess } from '../access/member-access.ts';
import { announceJoin } from './membership.service.ts';
import { decodeCursor, pageOf } from '../../page-cursor.ts';

const requestCursor = z.object({ createdAt: z.iso.datetime(), id: z.uuid() });

/** Join requests of `request` communities: filed by users, decided by moderators (`manage_requests`). */
export class JoinRequestService {
  readonly #store: Store;
  readonly #realtime: Realtime;
  readonly #clock: Clock;
  readonly #activity: ActivityRecorder;
  readonly #access: ChannelAccess;

  constructor(deps: { store: Store; realtime: Realtime; clock: Clock; activity: ActivityRecorder; access: ChannelAccess }) {
    this.#store = deps.store;
    this.#realtime = deps.realtime;
    this.#clock = deps.clock;
    this.#activity = deps.activity;
    this.#access = deps.access;
  }

  /**
   * Asks to join a `request` community (the pending request when one exists).
   * Throws `server_not_found`, `already_member`, `banned`, `forbidden` (the
   * community does not take requests), `join_request_rejected`.
   */
  async create(actor: Actor, serverId: string, message: string | null): Promise<JoinRequest> {
    const repos = this.#store.repos;
    const now = this.#clock.now();
    const [server, member, ban] = await Promise.all([
      repos.servers.get(serverId),
      repos.members.getActive(serverId, actor.userId),
      repos.bans.getActive(serverId, actor.userId, now),
    ]);
    if (!server) throw new AppError('server_not_found');
    if (member) throw new AppError('already_member');
    if (ban) throw new AppError('banned');
    if (server.join_policy !== 'request') throw new AppError('forbidden', 'This server does not take join requests');
    const request = await requestToJoin(this.#store, { server, userId: actor.userId, message, now });
    return toJoinRequest((await repos.joinRequests.get(request.id))!);
  }

  /** Requests of one status (default pending), oldest first. Needs `manage_requests`. */
  async list(
    actor: Actor,
    serverId: string,
    query: { status?: 'pending' | 'approved' | 'rejected'; limit: number; cursor?: string | undefined },
  ): Promise<Page<JoinRequest>> {
    const access = await loadAccess(this.#store.repos, serverId, actor.userId);
    access.require('manage_requests');
    const after = decodeCursor(query.cursor, requestCursor);
    const rows = await this.#store.repos.joinRequests.list(serverId, {
      status: query.status ?? 'pending',
      after: after ? { createdAt: new Date(after.createdAt), id: after.id } : undefined,
      limit: query.limit + 1,
    });
    return pageOf(rows, query.limit, (row) => ({ createdAt: row.created_at.toISOString(), id: row.id }), toJoinRequest);
  }

  /**
   * Approves (the requester becomes a member) or rejects a pending request;
   * the requester hears `join_request:updated` on every device. Throws
   * `join_request_not_found` (also when the actor is not a member of its
   * community, or it was already decided), `forbidden`, `server_full`.
   */
  async decide(actor: Actor, requestId: string, status: 'approved' | 'rejected'): Promise<JoinRequest> {
    const request = await this.#store.repos.joinRequests.get(requestId);
    if (!request) throw new AppError('join_request_not_found');
    const access = await loadAccess(this.#store.repos, request.server_id, actor.userId).catch((error: unknown) => {
      throw error instanceof AppError ? new AppError('join_request_not_found') : error;
    });
    access.require('manage_requests');
    const now = this.#clock.now();
    const admitted = await this.#store.transaction(async (repos) => {
      const decided = await repos.joinRequests.decide(requestId, { status, decidedBy: actor.userId, now });
      if (!decided) throw new AppError('join_request_not_found', 'The request is no longer pending');
      await repos.auditLog.append({
        serverId: request.server_id,
        actorId: actor.userId,
        action: status === 'approved' ? 'request.approve' : 'request.reject',
        targetUserId: request.user_id,
        targetId: request.id,
      });
      if (status === 'rejected') return false;
      if (await repos.bans.getActive(request.server_id, request.user_id, now)) throw new AppError('banned', 'The requester is banned');
      return (await admitMember(repos, { server: access.server, userId: request.user_id, nickname: null })) !== undefined;
    });
    if (admitted) {
      const deps = { store: this.#store, realtime: this.#realtime, access: this.#access, clock: this.#clock };
      await announceJoin(deps, request.server_id, request.user_id);
      this.#activity.recordJoin(request.server_id);
    }
    const updated = toJoinRequest((await this.#store.repos.joinRequests.get(requestId))!);
    this.#realtime.emit(rooms.user(request.user_id), 'join_request:updated', updated);
    return updated;
  }
}
