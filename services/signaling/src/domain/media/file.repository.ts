import type { DB, FileRow } from '@parley/db';
import type { Kysely } from 'kysely';

/** Uploaded files. */
export class FileRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** The files of `ids` that `ownerId` owns (any order). */
  listOwned(ownerId: string, ids: readonly string[]): Promise<FileRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.#db.selectFrom('files').selectAll().where('owner_id', '=', ownerId).where('id', 'in', ids).execute();
  }
}
