import type { AuditLogRow, DB } from '@parley/db';
import type { Kysely } from 'kysely';

/** What happened, by whom, to whom: one audit log line. */
export interface AuditRecord {
  serverId: string | null;
  /** Null for the admin CLI and the system. */
  actorId: string | null;
  action: AuditAction;
  targetUserId?: string | null;
  targetId?: string | null;
  details?: Record<string, unknown>;
}

/** Every action the audit log records. */
export type AuditAction =
  | 'server.create'
  | 'server.update'
  | 'server.delete'
  | 'server.claim_ownership'
  | 'server.set_owner'
  | 'server.feature'
  | 'channel.create'
  | 'channel.update'
  | 'channel.delete'
  | 'channel.override_set'
  | 'channel.override_delete'
  | 'role.create'
  | 'role.update'
  | 'role.delete'
  | 'invite.create'
  | 'invite.revoke'
  | 'member.join'
  | 'member.update'
  | 'member.kick'
  | 'member.ban'
  | 'member.unban'
  | 'member.mute'
  | 'member.unmute'
  | 'request.approve'
  | 'request.reject';

export class AuditLogRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  async append(record: AuditRecord): Promise<void> {
    await this.#db
      .insertInto('audit_log')
      .values({
        server_id: record.serverId,
        actor_id: record.actorId,
        action: record.action,
        target_user_id: record.targetUserId ?? null,
        target_id: record.targetId ?? null,
        details: record.details ?? {},
      })
      .execute();
  }

  /** Newest first, before the entry id `before`. */
  list(serverId: string, options: { before?: number; limit: number }): Promise<AuditLogRow[]> {
    let query = this.#db.selectFrom('audit_log').selectAll().where('server_id', '=', serverId);
    if (options.before !== undefined) query = query.where('id', '<', options.before);
    return query.orderBy('id', 'desc').limit(options.limit).execute();
  }
}
