import type { ChannelOverrideRow, ChannelRow, DB } from '@parley/db';
import { sql, type Kysely } from 'kysely';

/** A channel and one user's standing in its community (see `getWithAccess`). */
export interface ChannelAccessRow extends ChannelRow {
  owner_id: string | null;
  is_member: boolean;
  muted: boolean;
  muted_until: Date | null;
  roles: Array<{ id: string; rank: number; permissions: string[] }>;
  overrides: Array<{ role_id: string; allow: string[]; deny: string[] }>;
}

export class ChannelRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(id: string): Promise<ChannelRow | undefined> {
    return this.#db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * A channel with everything that decides what one user may do in it, in
   * one round trip (it runs before every message): the community's owner,
   * the user's active membership, their roles and the channel's overrides.
   */
  async getWithAccess(channelId: string, userId: string): Promise<ChannelAccessRow | undefined> {
    const { rows } = await sql<ChannelAccessRow>`
      select channels.*, servers.owner_id,
        members.user_id is not null as is_member, coalesce(members.muted, false) as muted, members.muted_until,
        coalesce((
          select json_agg(json_build_object('id', roles.id, 'rank', roles.rank, 'permissions', roles.permissions))
          from member_roles join roles on roles.id = member_roles.role_id
          where member_roles.server_id = channels.server_id and member_roles.user_id = ${userId}
        ), '[]') as roles,
        coalesce((
          select json_agg(json_build_object('role_id', role_id, 'allow', allow, 'deny', deny))
          from channel_overrides where channel_id = channels.id
        ), '[]') as overrides
      from channels
      join servers on servers.id = channels.server_id
      left join members on members.server_id = channels.server_id and members.user_id = ${userId} and members.active
      where channels.id = ${channelId}`.execute(this.#db);
    return rows[0];
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
}
