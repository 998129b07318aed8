import type { DB, FileRow, MessageRow } from '@parley/db';
import { sql, type Kysely } from 'kysely';
import { unique } from '../unique-conflict.ts';

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

  /** A message of this channel, deleted or not. */
  getInChannel(channelId: string, id: string): Promise<MessageWithAuthor | undefined> {
    return this.#withAuthor().where('messages.channel_id', '=', channelId).where('messages.id', '=', id).executeTakeFirst();
  }

  /**
   * Takes the channel's next seq and stores the message with it, in one
   * statement (one round trip, no explicit transaction): the statement is
   * atomic, so when the insert fails (a nonce already used) the seq is given
   * back and no gap appears. Throws `UniqueConflict` in that case.
   */
  async insertNext(values: {
    channelId: string;
    authorId: string;
    text: string;
    nonce: string | null;
    replyToId: string | null;
  }): Promise<MessageRow> {
    const { rows } = await unique(
      'a message with that nonce',
      sql<MessageRow>`
      with next as (
        update channels set last_seq = last_seq + 1 where id = ${values.channelId} returning last_seq
      )
      insert into messages (channel_id, seq, author_id, text, nonce, reply_to_id)
      select ${values.channelId}, next.last_seq, ${values.authorId}, ${values.text}, ${values.nonce}, ${values.replyToId}
      from next
      returning *`.execute(this.#db),
    );
    if (!rows[0]) throw new Error(`channel ${values.channelId} does not exist`);
    return rows[0];
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

  /** The oldest `limit` messages after `afterSeq`, oldest first, deleted ones left out (`withDeleted`: as well). */
  listAfter(channelId: string, afterSeq: number, limit: number, options: { withDeleted?: boolean } = {}): Promise<MessageWithAuthor[]> {
    let query = this.#withAuthor().where('messages.channel_id', '=', channelId).where('messages.seq', '>', afterSeq);
    if (!options.withDeleted) query = query.where('messages.deleted_at', 'is', null);
    return query.orderBy('messages.seq').limit(limit).execute();
  }

  /** Replaces the text of a message that is not deleted; undefined otherwise. */
  updateText(id: string, text: string, now: Date): Promise<MessageRow | undefined> {
    return this.#db
      .updateTable('messages')
      .set({ text, edited_at: now })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  /** Soft-deletes a message; undefined when it was already deleted. Its text is cleared. */
  softDelete(id: string, now: Date): Promise<MessageRow | undefined> {
    return this.#db
      .updateTable('messages')
      .set({ deleted_at: now, text: '' })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  async attach(messageId: string, fileIds: readonly string[]): Promise<void> {
    if (fileIds.length === 0) return;
    await this.#db
      .insertInto('message_attachments')
      .values(fileIds.map((fileId, position) => ({ message_id: messageId, file_id: fileId, position })))
      .execute();
  }

  /** The attached files of each message, in order. */
  async listAttachments(messageIds: readonly string[]): Promise<Map<string, FileRow[]>> {
    const byMessage = new Map<string, FileRow[]>();
    if (messageIds.length === 0) return byMessage;
    const rows = await this.#db
      .selectFrom('message_attachments')
      .innerJoin('files', 'files.id', 'message_attachments.file_id')
      .selectAll('files')
      .select('message_attachments.message_id')
      .where('message_attachments.message_id', 'in', messageIds)
      .orderBy('message_attachments.message_id')
      .orderBy('message_attachments.position')
      .execute();
    for (const { message_id: messageId, ...file } of rows) byMessage.set(messageId, [...(byMessage.get(messageId) ?? []), file]);
    return byMessage;
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
