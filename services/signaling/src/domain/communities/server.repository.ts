import type { DB, ServerRow } from '@parley/db';
import { sql, type Kysely, type Updateable } from 'kysely';
import type { ServersTable } from '@parley/db';

/** The columns of a community its settings may change. */
export type ServerChanges = Omit<Updateable<ServersTable>, 'id' | 'created_at'>;

export class ServerRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(id: string): Promise<ServerRow | undefined> {
    return this.#db.selectFrom('servers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The row, locked until the transaction ends. */
  getForUpdate(id: string): Promise<ServerRow | undefined> {
    return this.#db.selectFrom('servers').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  /** The community `SERVER_NAME` runs, if it was created. */
  getDefault(): Promise<ServerRow | undefined> {
    return this.#db.selectFrom('servers').selectAll().where('is_default', '=', true).executeTakeFirst();
  }

  create(values: { name: string; description: string | null; ownerId: string | null; isDefault?: boolean }): Promise<ServerRow> {
    return this.#db
      .insertInto('servers')
      .values({
        name: values.name,
        description: values.description,
        owner_id: values.ownerId,
        is_default: values.isDefault ?? false,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Creates the default community unless one exists; undefined when another pod was first. */
  createDefault(values: { name: string }): Promise<ServerRow | undefined> {
    return this.#db
      .insertInto('servers')
      .values({ name: values.name, description: null, owner_id: null, is_default: true, join_policy: 'invite' })
      .onConflict((conflict) => conflict.column('is_default').where('is_default', '=', true).doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  update(id: string, values: ServerChanges): Promise<ServerRow | undefined> {
    return this.#db
      .updateTable('servers')
      .set({ ...values, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  delete(id: string): Promise<ServerRow | undefined> {
    return this.#db.deleteFrom('servers').where('id', '=', id).returningAll().executeTakeFirst();
  }

  /** Makes `userId` the owner only if the community has none: false when someone else claimed it first. */
  async claimOwnership(id: string, userId: string): Promise<boolean> {
    const row = await this.#db
      .updateTable('servers')
      .set({ owner_id: userId, updated_at: new Date() })
      .where('id', '=', id)
      .where('owner_id', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Counts one more member unless that passes `max_members` or `deploymentMax`: false when full. */
  async addMember(id: string, deploymentMax: number): Promise<boolean> {
    const row = await this.#db
      .updateTable('servers')
      .set((eb) => ({ member_count: eb('member_count', '+', 1) }))
      .where('id', '=', id)
      .where('member_count', '<', deploymentMax)
      .where((eb) => eb.or([eb('max_members', 'is', null), eb('member_count', '<', eb.ref('max_members'))]))
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Sets `member_count` to the number of active members; run it in a
   * transaction. The row is locked first (compatible with the key-share
   * locks joins take on it) so that the count, read by the next statement,
   * sees every change committed before the lock: of recounts racing on
   * several pods the last one to run counts everything. Writes nothing when
   * the count is already right. Returns the count; undefined when there is no such community.
   */
  async recountMembers(id: string): Promise<number | undefined> {
    const locked = await this.#db.selectFrom('servers').select('id').where('id', '=', id).forNoKeyUpdate().executeTakeFirst();
    if (!locked) return undefined;
    const { rows } = await sql<{ count: number }>`
      with counted as (select count(*)::int as count from members where server_id = ${id} and active),
      changed as (
        update servers set member_count = counted.count from counted
        where servers.id = ${id} and servers.member_count <> counted.count
      )
      select count from counted`.execute(this.#db);
    return rows[0]?.count;
  }

  async removeMember(id: string): Promise<void> {
    await this.#db
      .updateTable('servers')
      .set((eb) => ({ member_count: eb('member_count', '-', 1) }))
      .where('id', '=', id)
      .execute();
  }

  /**
   * Discoverable communities, newest first (ties by id), after `after`. Each
   * row carries `created_at` to the microsecond as text (`position`), which
   * a JS Date would truncate: a cursor built from it resumes exactly.
   */
  listDiscoverable(options: { after?: DiscoverablePosition; limit: number }): Promise<Array<ServerRow & { position: string }>> {
    let query = this.#db
      .selectFrom('servers')
      .selectAll()
      .select(sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('position'))
      .where('discoverable', '=', true);
    const after = options.after;
    if (after) {
      const createdAt = sql<Date>`${after.createdAt}::timestamptz`;
      query = query.where((eb) =>
        eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '>', after.id)])]),
      );
    }
    // (created_at desc, id) is the order of servers_discoverable_idx.
    return query.orderBy('created_at', 'desc').orderBy('id').limit(options.limit).execute();
  }

  /**
   * Discoverable communities whose name or description contains `text`
   * (case-insensitive, taken literally: LIKE wildcards are escaped). Names
   * starting with it first, then names containing it, then descriptions;
   * then by member count, then id.
   */
  searchDiscoverable(text: string, options: { offset: number; limit: number }): Promise<ServerRow[]> {
    const literal = text.replace(/[\\%_]/g, (character) => `\\${character}`);
    const contains = `%${literal}%`;
    return this.#db
      .selectFrom('servers')
      .selectAll()
      .where('discoverable', '=', true)
      .where((eb) => eb.or([eb('name', 'ilike', contains), eb('description', 'ilike', contains)]))
      .orderBy((eb) =>
        eb
          .case()
          .when('name', 'ilike', `${literal}%`)
          .then(0)
          .when('name', 'ilike', contains)
          .then(1)
          .else(2)
          .end(),
      )
      .orderBy('member_count', 'desc')
      .orderBy('id')
      .offset(options.offset)
      .limit(options.limit)
      .execute();
  }

  /** Discoverable communities an operator featured, most recently featured first. */
  listFeatured(limit: number): Promise<ServerRow[]> {
    return this.#db
      .selectFrom('servers')
      .selectAll()
      .where('discoverable', '=', true)
      .where('featured_at', 'is not', null)
      .orderBy('featured_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute();
  }
}

/** Where a page of `listDiscoverable` ends: `created_at` to the microsecond (ISO 8601) and id. */
export interface DiscoverablePosition {
  createdAt: string;
  id: string;
}
