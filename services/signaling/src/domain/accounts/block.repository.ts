import type { DB } from '@parley/db';
import type { Kysely } from 'kysely';

/** A block with the blocked user's names. */
export interface BlockedUserRow {
  blocked_id: string;
  username: string;
  display_name: string;
  created_at: Date;
}

/** Users' blocks of other users. */
export class BlockRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Newest first. */
  listByBlocker(blockerId: string): Promise<BlockedUserRow[]> {
    return this.#db
      .selectFrom('user_blocks')
      .innerJoin('users', 'users.id', 'user_blocks.blocked_id')
      .select(['user_blocks.blocked_id', 'users.username', 'users.display_name', 'user_blocks.created_at'])
      .where('user_blocks.blocker_id', '=', blockerId)
      .orderBy('user_blocks.created_at', 'desc')
      .orderBy('user_blocks.blocked_id')
      .execute();
  }

  /** One primary-key lookup. */
  async exists(blockerId: string, blockedId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('user_blocks')
      .select('blocker_id')
      .where('blocker_id', '=', blockerId)
      .where('blocked_id', '=', blockedId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async countByBlocker(blockerId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('user_blocks')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('blocker_id', '=', blockerId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** False when the block already existed. */
  async create(blockerId: string, blockedId: string): Promise<boolean> {
    const result = await this.#db
      .insertInto('user_blocks')
      .values({ blocker_id: blockerId, blocked_id: blockedId })
      .onConflict((conflict) => conflict.columns(['blocker_id', 'blocked_id']).doNothing())
      .executeTakeFirst();
    return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  /** False when there was no such block. */
  async delete(blockerId: string, blockedId: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('user_blocks')
      .where('blocker_id', '=', blockerId)
      .where('blocked_id', '=', blockedId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
