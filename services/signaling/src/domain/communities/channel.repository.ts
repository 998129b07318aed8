import type { ChannelOverrideRow, ChannelRow, DB } from '@parley/db';
import type { Kysely } from 'kysely';

export class ChannelRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(id: string): Promise<ChannelRow | undefined> {
    return this.#db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** In display order. */
  listByServer(serverId: string): Promise<ChannelRow[]> {
    return this.#db
      .selectFrom('channels')
      .selectAll()
      .where('server_id', '=', serverId)
      .orderBy('position')
      .orderBy('created_at')
      .execute();
  }

  /** The channels of several communities. */
  listByServers(serverIds: string[]): Promise<ChannelRow[]> {
    if (serverIds.length === 0) return Promise.resolve([]);
    return this.#db.selectFrom('channels').selectAll().where('server_id', 'in', serverIds).execute();
  }

  async countByServer(serverId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('channels')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('server_id', '=', serverId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  create(values: { serverId: string; name: string; type: 'text' | 'voice'; position: number }): Promise<ChannelRow> {
    return this.#db
      .insertInto('channels')
      .values({ server_id: values.serverId, name: values.name, type: values.type, position: values.position })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  update(serverId: string, id: string, values: { name?: string; position?: number }): Promise<ChannelRow | undefined> {
    return this.#db
      .updateTable('channels')
      .set(values)
      .where('server_id', '=', serverId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  delete(serverId: string, id: string): Promise<ChannelRow | undefined> {
    return this.#db
      .deleteFrom('channels')
      .where('server_id', '=', serverId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  /** The permission overrides of these channels. */
  listOverrides(channelIds: string[]): Promise<ChannelOverrideRow[]> {
    if (channelIds.length === 0) return Promise.resolve([]);
    return this.#db.selectFrom('channel_overrides').selectAll().where('channel_id', 'in', channelIds).execute();
  }

  setOverride(values: { channelId: string; roleId: string; allow: string[]; deny: string[] }): Promise<ChannelOverrideRow> {
    return this.#db
      .insertInto('channel_overrides')
      .values({ channel_id: values.channelId, role_id: values.roleId, allow: values.allow, deny: values.deny })
      .onConflict((conflict) =>
        conflict.columns(['channel_id', 'role_id']).doUpdateSet({ allow: values.allow, deny: values.deny }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async deleteOverride(channelId: string, roleId: string): Promise<boolean> {
    const row = await this.#db
      .deleteFrom('channel_overrides')
      .where('channel_id', '=', channelId)
      .where('role_id', '=', roleId)
      .returning('role_id')
      .executeTakeFirst();
    return row !== undefined;
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
