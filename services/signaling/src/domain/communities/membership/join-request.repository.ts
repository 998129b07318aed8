import type { DB, JoinRequestRow } from '@parley/db';
import type { Kysely } from 'kysely';

export interface JoinRequestWithUser extends JoinRequestRow {
  username: string;
  display_name: string;
}

export class JoinRequestRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(id: string): Promise<JoinRequestWithUser | undefined> {
    return this.#withUser().where('join_requests.id', '=', id).executeTakeFirst();
  }

  /** The user's most recent request to this community. */
  getLatest(serverId: string, userId: string): Promise<JoinRequestRow | undefined> {
    return this.#db
      .selectFrom('join_requests')
      .selectAll()
      .where('server_id', '=', serverId)
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * A new pending request; undefined when one is already pending (at most one
   * per user and community). `createdAt` comes from the app's clock
   * (millisecond precision), so page cursors compare exactly.
   */
  createPending(values: { serverId: string; userId: string; message: string | null; createdAt: Date }): Promise<JoinRequestRow | undefined> {
    return this.#db
      .insertInto('join_requests')
      .values({ server_id: values.serverId, user_id: values.userId, message: values.message, created_at: values.createdAt })
      .onConflict((conflict) =>
        conflict.columns(['server_id', 'user_id']).where('status', '=', 'pending').doNothing(),
      )
      .returningAll()
      .executeTakeFirst();
  }

  /** Decides a pending request; undefined when it was not pending (someone decided first). */
  decide(id: string, values: { status: 'approved' | 'rejected'; decidedBy: string; now: Date }) {
    return this.#db
      .updateTable('join_requests')
      .set({ status: values.status, decided_by: values.decidedBy, decided_at: values.now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
  }

  /** Oldest first. */
  list(serverId: string, options: { status: 'pending' | 'approved' | 'rejected'; after?: { createdAt: Date; id: string }; limit: number }) {
    let query = this.#withUser()
      .where('join_requests.server_id', '=', serverId)
      .where('join_requests.status', '=', options.status);
    const after = options.after;
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb('join_requests.created_at', '>', after.createdAt),
          eb.and([eb('join_requests.created_at', '=', after.createdAt), eb('join_requests.id', '>', after.id)]),
        ]),
      );
    }
    return query.orderBy('join_requests.created_at').orderBy('join_requests.id').limit(options.limit).execute();
  }

  #withUser() {
    return this.#db
      .selectFrom('join_requests')
      .innerJoin('users', 'users.id', 'join_requests.user_id')
      .selectAll('join_requests')
      .select(['users.username', 'users.display_name']);
  }
}
