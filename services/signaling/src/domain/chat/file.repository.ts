import type { DB } from '@parley/db';
import type { Kysely } from 'kysely';

/** Uploaded files; for now only what chat needs: whose they are. */
export class FileRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** How many of `ids` are files owned by `ownerId`. */
  async countOwned(ownerId: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const row = await this.#db
      .selectFrom('files')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('owner_id', '=', ownerId)
      .where('id', 'in', ids)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
