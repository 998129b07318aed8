import type { DB, UserRow } from '@parley/db';
import { sql, type Kysely } from 'kysely';

export class UserRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(id: string): Promise<UserRow | undefined> {
    return this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Usernames are unique regardless of case. */
  getByUsername(username: string): Promise<UserRow | undefined> {
    return this.#db
      .selectFrom('users')
      .selectAll()
      .where(sql`lower(username)`, '=', username.toLowerCase())
      .executeTakeFirst();
  }

  /** Undefined when the username is taken. */
  create(values: { username: string; displayName: string; passwordHash: string | null }): Promise<UserRow | undefined> {
    return this.#db
      .insertInto('users')
      .values({ username: values.username, display_name: values.displayName, password_hash: values.passwordHash })
      .onConflict((conflict) => conflict.doNothing())
      .returningAll()
      .executeTakeFirst();
  }
}
