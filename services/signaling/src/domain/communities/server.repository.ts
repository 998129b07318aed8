import type { DB, ServerRow } from '@parley/db';
import type { Kysely } from 'kysely';

export class ServerRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(id: string): Promise<ServerRow | undefined> {
    return this.#db.selectFrom('servers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  create(values: { name: string; description: string | null; ownerId: string }): Promise<ServerRow> {
    return this.#db
      .insertInto('servers')
      .values({ name: values.name, description: values.description, owner_id: values.ownerId })
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
