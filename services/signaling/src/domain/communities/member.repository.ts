import { limits } from '@parley/protocol';
import type { DB, MemberRow } from '@parley/db';
import { sql, type Kysely } from 'kysely';

/** A member with their account's names and avatar and the ids of the roles they hold. */
export interface MemberWithUser extends MemberRow {
  username: string;
  display_name: string;
  avatar_file_id: string | null;
  role_ids: string[];
}

export class MemberRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  getActive(serverId: string, userId: string): Promise<MemberRow | undefined> {
    return this.#db
      .selectFrom('members')
      .selectAll()
      .where('server_id', '=', serverId)
      .where('user_id', '=', userId)
      .where('active', '=', true)
      .executeTakeFirst();
  }

  /** An active member with names and roles. */
  async getWithUser(serverId: string, userId: string): Promise<MemberWithUser | undefined> {
    const [member] = await this.#withUser(serverId).where('members.user_id', '=', userId).execute();
    return member;
  }

  /**
   * Makes the user an active member again, or for the first time; undefined
   * when they already are one. A server mute survives leaving and rejoining;
   * roles do not (leaving drops them).
   */
  activate(values: { serverId: string; userId: string; nickname: string | null }): Promise<MemberRow | undefined> {
    return this.#db
      .insertInto('members')
      .values({ server_id: values.serverId, user_id: values.userId, nickname: values.nickname })
      .onConflict((conflict) =>
        conflict.columns(['server_id', 'user_id']).doUpdateSet((eb) => ({
          active: true,
          joined_at: new Date(),
          nickname: eb.fn.coalesce(eb.ref('excluded.nickname'), eb.ref('members.nickname')),
        })).where('members.active', '=', false),
      )
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * `activate`, granting the built-in role `builtin` and appending the join's
   * audit line in the same statement (atomic on its own, so a join needs no
   * transaction of its own); undefined, with nothing written, when the user
   * already was an active member.
   */
  async admit(values: {
    serverId: string;
    userId: string;
    nickname: string | null;
    builtin: 'member';
    audit: { actorId: string | null; action: string; details: Record<string, unknown> };
  }): Promise<MemberRow | undefined> {
    const { serverId, userId, audit } = values;
    const { rows } = await sql<MemberRow>`
      with activated as (
        insert into members (server_id, user_id, nickname) values (${serverId}, ${userId}, ${values.nickname})
        on conflict (server_id, user_id) do update
          set active = true, joined_at = now(), nickname = coalesce(excluded.nickname, members.nickname)
          where members.active = false
        returning *
      ),
      granted as (
        insert into member_roles (server_id, user_id, role_id)
        select activated.server_id, activated.user_id, roles.id from activated
        join roles on roles.server_id = activated.server_id and roles.builtin = ${values.builtin}
        on conflict do nothing
      ),
      audited as (
        insert into audit_log (server_id, actor_id, action, details)
        select activated.server_id, ${audit.actorId}, ${audit.action}, ${JSON.stringify(audit.details)}::jsonb from activated
      )
      select * from activated`.execute(this.#db);
    return rows[0];
  }

  /** Deactivates the membership and drops its roles; false when it was not active. */
  async deactivate(serverId: string, userId: string): Promise<boolean> {
    const row = await this.#db
      .updateTable('members')
      .set({ active: false })
      .where('server_id', '=', serverId)
      .where('user_id', '=', userId)
      .where('active', '=', true)
      .returning('user_id')
      .executeTakeFirst();
    if (!row) return false;
    await this.#db.deleteFrom('member_roles').where('server_id', '=', serverId).where('user_id', '=', userId).execute();
    return true;
  }

  update(
    serverId: string,
    userId: string,
    values: { nickname?: string | null; muted?: boolean; mutedUntil?: Date | null },
  ): Promise<MemberRow | undefined> {
    return this.#db
      .updateTable('members')
      .set({
        ...(values.nickname === undefined ? {} : { nickname: values.nickname }),
        ...(values.muted === undefined ? {} : { muted: values.muted }),
        ...(values.mutedUntil === undefined ? {} : { muted_until: values.mutedUntil }),
      })
      .where('server_id', '=', serverId)
      .where('user_id', '=', userId)
      .where('active', '=', true)
      .returningAll()
      .executeTakeFirst();
  }

  /** The first `limit` active members in join order. */
  list(serverId: string, options: { limit: number }): Promise<MemberWithUser[]> {
    return this.#withUser(serverId).orderBy('members.joined_at').orderBy('members.user_id').limit(options.limit).execute();
  }

  /**
   * Active members in join order, after a position: it travels as `joined_at_exact`
   * (ISO 8601 UTC with microseconds), because a cursor built from a JS Date
   * loses the microseconds Postgres stores and would repeat rows.
   */
  listPage(
    serverId: string,
    options: { after?: { joinedAtExact: string; userId: string }; limit: number },
  ): Promise<Array<MemberWithUser & { joined_at_exact: string }>> {
    let query = this.#withUser(serverId).select(
      sql<string>`to_char(members.joined_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('joined_at_exact'),
    );
    const after = options.after;
    if (after) {
      query = query.where(
        sql<boolean>`(members.joined_at, members.user_id) > (${after.joinedAtExact}::timestamptz, ${after.userId}::uuid)`,
      );
    }
    return query.orderBy('members.joined_at').orderBy('members.user_id').limit(options.limit).execute();
  }

  /** Ids of the active members among `userIds` (all of them when omitted). */
  async listUserIds(serverId: string, userIds?: string[]): Promise<string[]> {
    if (userIds?.length === 0) return [];
    let query = this.#db
      .selectFrom('members')
      .select('user_id')
      .where('server_id', '=', serverId)
      .where('active', '=', true);
    if (userIds) query = query.where('user_id', 'in', userIds);
    return (await query.execute()).map((row) => row.user_id);
  }

  /** The communities a user is an active member of, with their owners. */
  listMemberships(userId: string): Promise<Array<{ server_id: string; owner_id: string | null }>> {
    return this.#db
      .selectFrom('members')
      .innerJoin('servers', 'servers.id', 'members.server_id')
      .select(['members.server_id', 'servers.owner_id'])
      .where('members.user_id', '=', userId)
      .where('members.active', '=', true)
      .execute();
  }

  /**
   * For each of these users, their communities that tell their members of
   * joins, leaves and presence: those of at most `limits.memberEvents.maxMembers` members.
   */
  async listAnnouncingServerIds(userIds: readonly string[]): Promise<Map<string, string[]>> {
    const byUser = new Map<string, string[]>(userIds.map((userId) => [userId, []]));
    if (userIds.length === 0) return byUser;
    const rows = await this.#db
      .selectFrom('members')
      .innerJoin('servers', 'servers.id', 'members.server_id')
      .select(['members.user_id', 'members.server_id'])
      .where('members.user_id', 'in', userIds)
      .where('members.active', '=', true)
      .where('servers.member_count', '<=', limits.memberEvents.maxMembers)
      .execute();
    for (const row of rows) byUser.get(row.user_id)?.push(row.server_id);
    return byUser;
  }

  #withUser(serverId: string) {
    return this.#db
      .selectFrom('members')
      .innerJoin('users', 'users.id', 'members.user_id')
      .selectAll('members')
      .select(['users.username', 'users.display_name', 'users.avatar_file_id'])
      .select(
        sql<string[]>`coalesce((
          select array_agg(member_roles.role_id) from member_roles
          where member_roles.server_id = members.server_id and member_roles.user_id = members.user_id
        ), '{}')`.as('role_ids'),
      )
      .where('members.server_id', '=', serverId)
      .where('members.active', '=', true)
      .$castTo<MemberWithUser>();
  }
}
