import type { DB, FileRow, MessageRow } from '@parley/db';
import { sql, type Kysely } from 'kysely';

export interface MessageWithAuthor extends MessageRow {
  author_username: string | null;
  author_display_name: string | null;
}

export type HistoryCursor = { beforeSeq: number } | { beforeTime: Date } | undefined;

/** A message to store, its attachments checked (see `ChatService.send`). */
export interface NewChatMessage {
  channelId: string;
  authorId: string;
  text: string;
  nonce: string | null;
  replyToId: string | null;
  /** File ids, in display order. */
  attachments: readonly string[];
}

/** What became of one message of a batch: stored now, stored before under its nonce, or its channel is gone. */
export type BatchInsertResult = { row: MessageRow; created: boolean } | { channelMissing: true };

export class MessageRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** A message of this channel, deleted or not. */
  getInChannel(channelId: string, id: string): Promise<MessageWithAuthor | undefined> {
    return this.#withAuthor().where('messages.channel_id', '=', channelId).where('messages.id', '=', id).executeTakeFirst();
  }

  /**
   * Stores a batch of messages; run it inside a transaction. It locks the
   * batch's channels in id order (so concurrent batches on other pods wait
   * for each other and cannot deadlock), then, under the locks, answers any
   * (channel, author, nonce) already stored, or repeated earlier in the
   * batch, with that first message; gives the others their channels' next
   * seqs in batch order; and stores them with their attachments. No seq is
   * taken for a message that is not stored, so none is skipped. Results are
   * in the order of `messages`.
   */
  async insertBatch(messages: readonly NewChatMessage[]): Promise<BatchInsertResult[]> {
    const lastSeqs = await this.#lockChannels(messages.map((message) => message.channelId));
    const stored = await this.#storedByNonce(messages.filter((message) => lastSeqs.has(message.channelId)));
    // Index in `messages` of the first new message with each nonce.
    const firstWithNonce = new Map<string, number>();
    const plan = messages.map((message, index): BatchInsertResult | { seq: number } | { repeatOf: number } => {
      const lastSeq = lastSeqs.get(message.channelId);
      if (lastSeq === undefined) return { channelMissing: true };
      if (message.nonce !== null) {
        const key = nonceKey(message.channelId, message.authorId, message.nonce);
        const row = stored.get(key);
        if (row) return { row, created: false };
        const first = firstWithNonce.get(key);
        if (first !== undefined) return { repeatOf: first };
        firstWithNonce.set(key, index);
      }
      lastSeqs.set(message.channelId, lastSeq + 1);
      return { seq: lastSeq + 1 };
    });
    const fresh = plan.flatMap((step, index) => ('seq' in step ? [{ index, message: messages[index]!, seq: step.seq }] : []));
    const inserted = await this.#insertFresh(fresh, lastSeqs);
    return plan.map((step, index) => {
      if ('seq' in step) return { row: inserted.get(index)!, created: true };
      if ('repeatOf' in step) return { row: inserted.get(step.repeatOf)!, created: false };
      return step;
    });
  }

  /** Locks the channels that exist among these, in id order, and returns their `last_seq`. */
  async #lockChannels(channelIds: readonly string[]): Promise<Map<string, number>> {
    const locked = await this.#db
      .selectFrom('channels')
      .select(['id', 'last_seq'])
      .where('id', 'in', [...new Set(channelIds)])
      .orderBy('id')
      .forUpdate()
      .execute();
    return new Map(locked.map((channel) => [channel.id, channel.last_seq]));
  }

  /** The stored messages that carry these messages' (channel, author, nonce), by `nonceKey`. */
  async #storedByNonce(messages: readonly NewChatMessage[]): Promise<Map<string, MessageRow>> {
    const keys = messages.flatMap(({ channelId, authorId, nonce }) => (nonce === null ? [] : [{ channelId, authorId, nonce }]));
    if (keys.length === 0) return new Map();
    const rows = await this.#db
      .selectFrom('messages')
      .selectAll()
      .where((eb) =>
        eb(
          eb.refTuple('channel_id', 'author_id', 'nonce'),
          'in',
          keys.map((key) => eb.tuple(key.channelId, key.authorId, key.nonce)),
        ),
      )
      .execute();
    return new Map(rows.map((row) => [nonceKey(row.channel_id, row.author_id!, row.nonce!), row]));
  }

  /**
   * Inserts the new messages with their seqs (one statement), raises their
   * channels' `last_seq` to match (one statement) and stores their
   * attachments (one statement); the rows by batch index.
   */
  async #insertFresh(
    fresh: ReadonlyArray<{ index: number; message: NewChatMessage; seq: number }>,
    lastSeqs: ReadonlyMap<string, number>,
  ): Promise<Map<number, MessageRow>> {
    const inserted = new Map<number, MessageRow>();
    if (fresh.length === 0) return inserted;
    const rows = await this.#db
      .insertInto('messages')
      .values(
        fresh.map(({ message, seq }) => ({
          channel_id: message.channelId,
          seq,
          author_id: message.authorId,
          text: message.text,
          nonce: message.nonce,
          reply_to_id: message.replyToId,
        })),
      )
      .returningAll()
      .execute();
    const bySeq = new Map(rows.map((row) => [`${row.channel_id}/${row.seq}`, row]));
    for (const { index, message, seq } of fresh) inserted.set(index, bySeq.get(`${message.channelId}/${seq}`)!);

    const channelIds = [...new Set(fresh.map(({ message }) => message.channelId))];
    await sql`
      update channels set last_seq = raised.last_seq
      from (values ${sql.join(channelIds.map((id) => sql`(${id}::uuid, ${lastSeqs.get(id)!}::bigint)`))}) as raised (id, last_seq)
      where channels.id = raised.id`.execute(this.#db);

    const attachments = fresh.flatMap(({ index, message }) =>
      message.attachments.map((fileId, position) => ({ message_id: inserted.get(index)!.id, file_id: fileId, position })),
    );
    if (attachments.length > 0) await this.#db.insertInto('message_attachments').values(attachments).execute();
    return inserted;
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

function nonceKey(channelId: string, authorId: string, nonce: string): string {
  return JSON.stringify([channelId, authorId, nonce]);
}
