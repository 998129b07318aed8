import type { ChannelRow, DB } from '@parley/db';
import type { Kysely } from 'kysely';

export class ChannelRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(id: string): Promise<ChannelRow | undefined> {
    return this.#db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
  }

  create(values: { serverId: string; name: string; type: 'text' | 'voice'; position: number }): Promise<ChannelRow> {
    return this.#db
      .insertInto('channels')
      .values({ server_id: values.serverId, name: values.name, type: values.type, position: values.position })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Takes the channel's next message seq. The row stays locked until the
   * transaction ends, so seqs are handed out one at a time and a rollback
   * gives its seq back: no gaps.
   */
  async nextSeq(channelId: string): Promise<number> {
    const row = await this.#db
      .updateTable('channels')
      .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
      .where('id', '=', channelId)
      .returning('last_seq')
      .executeTakeFirstOrThrow();
    return row.last_seq;
  }
}
