import type { BanRow, DB } from '@parley/db';
import type { Kysely } from 'kysely';

export interface BanWithUser extends BanRow {
  username: string | null;
}

export class BanRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** The ban in force at `now`, if any (an expired one does not count). */
  getActive(serverId: string, userId: string, now: Date): Promise<BanRow | undefined> {
    return this.#db
      .selectFrom('bans')
      .selectAll()
      .where('server_id', '=', serverId)
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirst();
  }

  /** Bans, or re-bans with the new terms. */
  upsert(values: {
    serverId: string;
    userId: string;
    reason: string | null;
    bannedBy: string | null;
    expiresAt: Date | null;
    now: Date;
  }): Promise<BanRow> {
    const terms = { reason: values.reason, banned_by: values.bannedBy, expires_at: values.expiresAt, created_at: values.now };
    return this.#db
      .insertInto('bans')
      .values({ server_id: values.serverId, user_id: values.userId, ...terms })
      .onConflict((conflict) => conflict.columns(['server_id', 'user_id']).doUpdateSet(terms))
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  delete(serverId: string, userId: string): Promise<BanRow | undefined> {
    return this.#db
      .deleteFrom('bans')
      .where('server_id', '=', serverId)
      .where('user_id', '=', userId)
      .returningAll()
      .executeTakeFirst();
  }

  /** Bans in force, newest first. */
  list(serverId: string, options: { now: Date; before?: { createdAt: Date; userId: string }; limit: number }) {
    let query = this.#db
      .selectFrom('bans')
      .leftJoin('users', 'users.id', 'bans.user_id')
      .selectAll('bans')
      .select('users.username')
      .where('bans.server_id', '=', serverId)
      .where((eb) => eb.or([eb('bans.expires_at', 'is', null), eb('bans.expires_at', '>', options.now)]));
    const before = options.before;
    if (before) {
      query = query.where((eb) =>
        eb.or([
          eb('bans.created_at', '<', before.createdAt),
          eb.and([eb('bans.created_at', '=', before.createdAt), eb('bans.user_id', '<', before.userId)]),
        ]),
      );
    }
    return query.orderBy('bans.created_at', 'desc').orderBy('bans.user_id', 'desc').limit(options.limit).execute();
  }
}
