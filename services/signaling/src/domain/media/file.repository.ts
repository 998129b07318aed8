import type { DB, FilePurpose, FileRow, FileStatus } from '@parley/db';
import { sql, type Kysely } from 'kysely';

/** Where a file is attached: a live message of a channel. */
export interface FileAttachment {
  channelId: string;
  messageId: string;
}

/** Uploaded files. */
export class FileRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(id: string): Promise<FileRow | undefined> {
    return this.#db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The files of `ids` that `ownerId` owns (any order). */
  listOwned(ownerId: string, ids: readonly string[]): Promise<FileRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.#db.selectFrom('files').selectAll().where('owner_id', '=', ownerId).where('id', 'in', ids).execute();
  }

  create(values: {
    id: string;
    ownerId: string;
    name: string;
    purpose: FilePurpose;
    status: FileStatus;
    size?: number;
    contentType?: string;
    declaredSize?: number;
  }): Promise<FileRow> {
    return this.#db
      .insertInto('files')
      .values({
        id: values.id,
        owner_id: values.ownerId,
        name: values.name,
        purpose: values.purpose,
        status: values.status,
        size: values.size ?? 0,
        content_type: values.contentType ?? 'application/octet-stream',
        declared_size: values.declaredSize ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Bytes a user's files take, counting a pending upload at the size it announced. */
  async usedBytes(ownerId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('files')
      .select(sql<string>`coalesce(sum(greatest(size, coalesce(declared_size, 0))), 0)`.as('used'))
      .where('owner_id', '=', ownerId)
      .executeTakeFirstOrThrow();
    return Number(row.used);
  }

  /** A pending upload whose bytes arrived: its size and sniffed type. Undefined when it was not pending. */
  markStored(id: string, values: { size: number; contentType: string; status: 'processing' | 'ready' }): Promise<FileRow | undefined> {
    return this.#db
      .updateTable('files')
      .set({ size: values.size, content_type: values.contentType, status: values.status })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
  }

  /** An image processed: undefined when it was not processing (another run finished it first). */
  markReady(id: string, values: { width: number; height: number; placeholder: string }): Promise<FileRow | undefined> {
    return this.#db
      .updateTable('files')
      .set({ ...values, thumbnails: true, status: 'ready' })
      .where('id', '=', id)
      .where('status', '=', 'processing')
      .returningAll()
      .executeTakeFirst();
  }

  /** Processing failed for good: undefined when it was not processing. */
  markFailed(id: string, reason: string): Promise<FileRow | undefined> {
    return this.#db
      .updateTable('files')
      .set({ status: 'failed', failure_reason: reason })
      .where('id', '=', id)
      .where('status', '=', 'processing')
      .returningAll()
      .executeTakeFirst();
  }

  async delete(id: string): Promise<void> {
    await this.#db.deleteFrom('files').where('id', '=', id).execute();
  }

  /** The live messages a file is attached to. */
  listAttachments(fileId: string): Promise<FileAttachment[]> {
    return this.#db
      .selectFrom('message_attachments')
      .innerJoin('messages', 'messages.id', 'message_attachments.message_id')
      .select(['messages.channel_id as channelId', 'messages.id as messageId'])
      .where('message_attachments.file_id', '=', fileId)
      .where('messages.deleted_at', 'is', null)
      .execute();
  }

  /** The communities whose icon a file is, and whether they are discoverable (listed publicly). */
  listIconOf(fileId: string): Promise<Array<{ serverId: string; discoverable: boolean }>> {
    return this.#db
      .selectFrom('servers')
      .select(['id as serverId', 'discoverable'])
      .where('icon_file_id', '=', fileId)
      .execute();
  }

  /**
   * Removes up to `limit` files created before `before` that nothing uses: no
   * message attaches them, no user or community shows them, or their
   * presigned upload was never completed. One statement, so a file attached
   * meanwhile is kept. Returns the removed ids.
   */
  async deleteUnused(before: Date, limit: number): Promise<string[]> {
    const { rows } = await sql<{ id: string }>`
      delete from files where id in (
        select id from files
        where created_at < ${before}
          and not exists (select 1 from message_attachments where file_id = files.id)
          and not exists (select 1 from users where avatar_file_id = files.id)
          and not exists (select 1 from servers where icon_file_id = files.id)
        order by created_at
        limit ${limit}
        for update skip locked
      )
      and not exists (select 1 from message_attachments where file_id = files.id)
      returning id`.execute(this.#db);
    return rows.map((row) => row.id);
  }

  /** Files still processing since before `before`: their job may have been lost (Redis away when it was enqueued). */
  async listStuckProcessing(before: Date, limit: number): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('files')
      .select('id')
      .where('status', '=', 'processing')
      .where('created_at', '<', before)
      .orderBy('created_at')
      .limit(limit)
      .execute();
    return rows.map((row) => row.id);
  }
}
