import type { DB, MessageRow } from '@parley/db';
import type { Kysely } from 'kysely';

export interface MessageWithAuthor extends MessageRow {
  author_username: string | null;
  author_display_name: string | null;
}

export type HistoryCursor = { beforeSeq: number } | { beforeTime: Date } | undefined;

export class MessageRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  getByNonce(channelId: string, authorId: string, nonce: string): Promise<MessageWithAuthor | undefined> {
    return this.#withAuthor()
      .where('messages.channel_id', '=', channelId)
      .where('messages.author_id', '=', authorId)
      .where('messages.nonce', '=', nonce)
      .executeTakeFirst();
  }

  /** Undefined when (channel, author, nonce) already exists. */
  insertUnlessNonceExists(values: {
    channelId: string;
    seq: number;
    authorId: string;
    text: string;
    nonce: string | null;
  }): Promise<MessageRow | undefined> {
    return this.#db
      .insertInto('messages')
      .values({
        channel_id: values.channelId,
        seq: values.seq,
        author_id: values.authorId,
        text: values.text,
        nonce: values.nonce,
      })
      .onConflict((conflict) => conflict.constraint('messages_nonce_key').doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  /** The newest `limit` messages before the cursor, newest first, deleted ones left out. */
  listBefore(channelId: string, cursor: HistoryCursor, limit: number): Promise<MessageWithAuthor[]> {
    let query = this.#withAuthor()
      .where('messages.channel_id', '=', channelId)
      .where('messages.deleted_at', 'is', null);
    if (cursor && 'beforeSeq' in cursor) query = query.where('messages.seq', '<', cursor.beforeSeq);
    if (cursor && 'beforeTime' in cursor) query = query.where('messages.created_at', '<', cursor.beforeTime);
    return query.orderBy('messages.seq', 'desc').limit(limit).execute();
  }

  /**
   * Soft-deletes every message `authorId` wrote in the community's channels
   * (a ban with purge); returns how many were deleted.
   */
  async purgeAuthor(serverId: string, authorId: string, now: Date): Promise<number> {
    const result = await this.#db
      .updateTable('messages')
      .set({ deleted_at: now })
      .where('author_id', '=', authorId)
      .where('deleted_at', 'is', null)
      .where('channel_id', 'in', (eb) => eb.selectFrom('channels').select('id').where('server_id', '=', serverId))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  #withAuthor() {
    return this.#db
      .selectFrom('messages')
      .leftJoin('users', 'users.id', 'messages.author_id')
      .selectAll('messages')
      .select(['users.username as author_username', 'users.display_name as author_display_name']);
  }
}
