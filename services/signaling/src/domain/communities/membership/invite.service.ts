import { randomBytes } from 'node:crypto';
import type { CreateInviteRequest, Invite, Page } from '@parley/protocol';
import { z } from 'zod';
import type { Clock } from '../../../clock.ts';
import { AppError } from '../../../errors.ts';
import type { Actor } from '../../accounts/actor.ts';
import type { Store } from '../../store.ts';
import { toInvite } from '../community.mappers.ts';
import { loadAccess } from '../access/member-access.ts';
import { decodeCursor, pageOf } from '../../page-cursor.ts';

const inviteCursor = z.object({ createdAt: z.iso.datetime(), code: z.string().max(64) });

/** 64 random bits: guessing is hopeless, and the join attempt guard locks guessers out long before. */
function newInviteCode(): string {
  return randomBytes(8).toString('base64url');
}

/** Invites: created by members with `create_invites`, listed and revoked by their creator or `manage_invites`. */
export class InviteService {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(deps: { store: Store; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
  }

  /** Throws `server_not_found`, `not_a_member`, `forbidden`. */
  async create(actor: Actor, serverId: string, input: CreateInviteRequest): Promise<Invite> {
    const access = await loadAccess(this.#store.repos, serverId, actor.userId);
    access.require('create_invites');
    const now = this.#clock.now();
    const invite = await this.#store.transaction(async (repos) => {
      const created = await repos.invites.create({
        code: newInviteCode(),
        serverId,
        createdBy: actor.userId,
        maxUses: input.maxUses ?? null,
        expiresAt: input.expiresInMs === undefined ? null : new Date(now.getTime() + input.expiresInMs),
        note: input.note || null,
        createdAt: now,
      });
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'invite.create',
        targetId: created.code,
        details: { maxUses: created.max_uses, expiresAt: created.expires_at?.toISOString() ?? null },
      });
      return created;
    });
    return toInvite(invite);
  }

  /** Newest first: every invite with `manage_invites`, one's own with `create_invites`. */
  async list(actor: Actor, serverId: string, query: { limit: number; cursor?: string | undefined }): Promise<Page<Invite>> {
    const access = await loadAccess(this.#store.repos, serverId, actor.userId);
    if (!access.has('manage_invites')) access.require('create_invites');
    const before = decodeCursor(query.cursor, inviteCursor);
    const rows = await this.#store.repos.invites.list(serverId, {
      createdBy: access.has('manage_invites') ? undefined : actor.userId,
      before: before ? { createdAt: new Date(before.createdAt), code: before.code } : undefined,
      limit: query.limit + 1,
    });
    return pageOf(rows, query.limit, (row) => ({ createdAt: row.created_at.toISOString(), code: row.code }), toInvite);
  }

  /** Revokes an invite: one's own, or any with `manage_invites`. Throws `invite_not_found`, `forbidden`. */
  async revoke(actor: Actor, serverId: string, code: string): Promise<Invite> {
    const access = await loadAccess(this.#store.repos, serverId, actor.userId);
    const invite = await this.#store.repos.invites.get(serverId, code);
    if (!invite) throw new AppError('invite_not_found');
    if (!access.has('manage_invites')) {
      if (invite.created_by !== actor.userId) throw new AppError('forbidden', 'This needs the manage_invites permission');
      access.require('create_invites');
    }
    const revoked = await this.#store.transaction(async (repos) => {
      const row = (await repos.invites.revoke(serverId, code, this.#clock.now()))!;
      await repos.auditLog.append({ serverId, actorId: actor.userId, action: 'invite.revoke', targetId: code });
      return row;
    });
    return toInvite(revoked);
  }
}
