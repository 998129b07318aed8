import type { DB, InviteRow } from '@parley/db';
import type { Kysely } from 'kysely';

export class InviteRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(serverId: string, code: string): Promise<InviteRow | undefined> {
    return this.#db
      .selectFrom('invites')
      .selectAll()
      .where('server_id', '=', serverId)
      .where('code', '=', code)
      .executeTakeFirst();
  }

  create(values: {
    code: string;
    serverId: string;
    createdBy: string;
    maxUses: number | null;
    expiresAt: Date | null;
    note: string | null;
    /** From the app's clock (millisecond precision), so page cursors compare exactly. */
    createdAt: Date;
  }): Promise<InviteRow> {
    return this.#db
      .insertInto('invites')
      .values({
        code: values.code,
        server_id: values.serverId,
        created_by: values.createdBy,
        max_uses: values.maxUses,
        expires_at: values.expiresAt,
        note: values.note,
        created_at: values.createdAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Spends one use of a live invite of this community. The update locks the
   * row, so two pods racing for the last use cannot both get it: undefined
   * for the loser, and for unknown, foreign, revoked, expired or used-up codes.
   */
  consume(serverId: string, code: string, now: Date): Promise<InviteRow | undefined> {
    return this.#db
      .updateTable('invites')
      .set((eb) => ({ uses: eb('uses', '+', 1) }))
      .where('server_id', '=', serverId)
      .where('code', '=', code)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
      .returningAll()
      .executeTakeFirst();
  }

  /** Newest first; only `createdBy`'s when given. */
  list(serverId: string, options: { createdBy?: string; before?: { createdAt: Date; code: string }; limit: number }) {
    let query = this.#db.selectFrom('invites').selectAll().where('server_id', '=', serverId);
    if (options.createdBy) query = query.where('created_by', '=', options.createdBy);
    const before = options.before;
    if (before) {
      query = query.where((eb) =>
        eb.or([
          eb('created_at', '<', before.createdAt),
          eb.and([eb('created_at', '=', before.createdAt), eb('code', '<', before.code)]),
        ]),
      );
    }
    return query.orderBy('created_at', 'desc').orderBy('code', 'desc').limit(options.limit).execute();
  }

  revoke(serverId: string, code: string, now: Date): Promise<InviteRow | undefined> {
    return this.#db
      .updateTable('invites')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(now)) }))
      .where('server_id', '=', serverId)
      .where('code', '=', code)
      .returningAll()
      .executeTakeFirst();
  }
}
