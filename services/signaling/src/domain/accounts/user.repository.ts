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

  /** The user, row-locked until the transaction ends: serialises changes to what the user owns. */
  getForUpdate(id: string): Promise<UserRow | undefined> {
    return this.#db.selectFrom('users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  /** Usernames are unique regardless of case. */
  getByUsername(username: string): Promise<UserRow | undefined> {
    return this.#db
      .selectFrom('users')
      .selectAll()
      .where(sql`lower(username)`, '=', username.toLowerCase())
      .executeTakeFirst();
  }

  /** Undefined when the username (or the given id, for imported accounts) is taken. */
  create(values: { id?: string; username: string; displayName: string; passwordHash: string | null }): Promise<UserRow | undefined> {
    return this.#db
      .insertInto('users')
      .values({
        ...(values.id === undefined ? {} : { id: values.id }),
        username: values.username,
        display_name: values.displayName,
        password_hash: values.passwordHash,
      })
      .onConflict((conflict) => conflict.doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  /** Undefined when there is no such user. */
  update(id: string, values: { displayName?: string; passwordHash?: string; avatarFileId?: string | null }): Promise<UserRow | undefined> {
    return this.#db
      .updateTable('users')
      .set({
        ...(values.displayName === undefined ? {} : { display_name: values.displayName }),
        ...(values.passwordHash === undefined ? {} : { password_hash: values.passwordHash }),
        ...(values.avatarFileId === undefined ? {} : { avatar_file_id: values.avatarFileId }),
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  /** Replaces the password hash only if it is still `expected`: an upgrade never overwrites a concurrent change. */
  async replacePasswordHash(id: string, expected: string, passwordHash: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', id)
      .where('password_hash', '=', expected)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
