import type { DB, DevicePlatform, DeviceTokenRow } from '@parley/db';
import type { Kysely } from 'kysely';

export class DeviceTokenRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  listByUser(userId: string): Promise<DeviceTokenRow[]> {
    return this.#db
      .selectFrom('device_tokens')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  getByToken(token: string): Promise<DeviceTokenRow | undefined> {
    return this.#db.selectFrom('device_tokens').selectAll().where('token', '=', token).executeTakeFirst();
  }

  async countByUser(userId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('device_tokens')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Inserts the token, or moves an existing one to this user and platform. */
  upsert(values: { userId: string; platform: DevicePlatform; token: string }): Promise<DeviceTokenRow> {
    return this.#db
      .insertInto('device_tokens')
      .values({ user_id: values.userId, platform: values.platform, token: values.token })
      .onConflict((conflict) =>
        conflict.column('token').doUpdateSet({ user_id: values.userId, platform: values.platform, updated_at: new Date() }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** False when the user has no token with this id. */
  async delete(userId: string, id: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('device_tokens')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
