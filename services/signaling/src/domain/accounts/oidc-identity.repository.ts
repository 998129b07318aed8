import type { DB, UserRow } from '@parley/db';
import type { Kysely } from 'kysely';

export class OidcIdentityRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** The user linked to (issuer, subject). */
  getUser(issuer: string, subject: string): Promise<UserRow | undefined> {
    return this.#db
      .selectFrom('oidc_identities')
      .innerJoin('users', 'users.id', 'oidc_identities.user_id')
      .selectAll('users')
      .where('oidc_identities.issuer', '=', issuer)
      .where('oidc_identities.subject', '=', subject)
      .executeTakeFirst();
  }

  /** False when (issuer, subject) is already linked. */
  async create(values: { issuer: string; subject: string; userId: string }): Promise<boolean> {
    const row = await this.#db
      .insertInto('oidc_identities')
      .values({ issuer: values.issuer, subject: values.subject, user_id: values.userId })
      .onConflict((conflict) => conflict.doNothing())
      .returning('user_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async existsForUser(userId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('oidc_identities')
      .select('user_id')
      .where('user_id', '=', userId)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }
}
