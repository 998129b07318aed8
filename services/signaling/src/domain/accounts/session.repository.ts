import type { DB, RevokedReason, SessionRow } from '@parley/db';
import type { Kysely } from 'kysely';

export interface ActiveSession {
  sessionId: string;
  userId: string;
  username: string;
  displayName: string;
  expiresAt: Date;
}

export class SessionRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  create(values: { userId: string; tokenHash: string; expiresAt: Date }): Promise<SessionRow> {
    return this.#db
      .insertInto('sessions')
      .values({ user_id: values.userId, token_hash: values.tokenHash, expires_at: values.expiresAt })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** The session with this token hash, with its user, unless revoked or expired at `now`. */
  getActiveByTokenHash(tokenHash: string, now: Date): Promise<ActiveSession | undefined> {
    return this.#db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.id as sessionId',
        'users.id as userId',
        'users.username',
        'users.display_name as displayName',
        'sessions.expires_at as expiresAt',
      ])
      .where('sessions.token_hash', '=', tokenHash)
      .where('sessions.revoked_at', 'is', null)
      .where('sessions.expires_at', '>', now)
      .executeTakeFirst();
  }

  /**
   * Revokes the user's live sessions (only `sessionId` when given; all but
   * `exceptSessionId` when that is given). Returns the ids it revoked.
   */
  async revoke(
    userId: string,
    values: { reason: RevokedReason; now: Date; sessionId?: string; exceptSessionId?: string | null },
  ): Promise<string[]> {
    let query = this.#db
      .updateTable('sessions')
      .set({ revoked_at: values.now, revoked_reason: values.reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (values.sessionId) query = query.where('id', '=', values.sessionId);
    if (values.exceptSessionId) query = query.where('id', '!=', values.exceptSessionId);
    const rows = await query.returning('id').execute();
    return rows.map((row) => row.id);
  }
}
