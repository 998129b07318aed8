import type { BuiltinRoleKey, DB, RoleRow } from '@parley/db';
import { builtinRoles, type BuiltinRole } from '@parley/protocol';
import type { Kysely } from 'kysely';
import { unique } from '../../unique-conflict.ts';

export class RoleRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(serverId: string, id: string): Promise<RoleRow | undefined> {
    return this.#db.selectFrom('roles').selectAll().where('server_id', '=', serverId).where('id', '=', id).executeTakeFirst();
  }

  getBuiltin(serverId: string, builtin: BuiltinRoleKey): Promise<RoleRow | undefined> {
    return this.#db
      .selectFrom('roles')
      .selectAll()
      .where('server_id', '=', serverId)
      .where('builtin', '=', builtin)
      .executeTakeFirst();
  }

  /** Highest rank first. */
  listByServer(serverId: string): Promise<RoleRow[]> {
    return this.#db
      .selectFrom('roles')
      .selectAll()
      .where('server_id', '=', serverId)
      .orderBy('rank', 'desc')
      .orderBy('created_at')
      .execute();
  }

  /** The roles a member holds. */
  listOfMember(serverId: string, userId: string): Promise<RoleRow[]> {
    return this.#db
      .selectFrom('member_roles')
      .innerJoin('roles', 'roles.id', 'member_roles.role_id')
      .selectAll('roles')
      .where('member_roles.server_id', '=', serverId)
      .where('member_roles.user_id', '=', userId)
      .execute();
  }

  /** Every role one user holds, in all their communities. */
  listOfUser(userId: string): Promise<RoleRow[]> {
    return this.#db
      .selectFrom('member_roles')
      .innerJoin('roles', 'roles.id', 'member_roles.role_id')
      .selectAll('roles')
      .where('member_roles.user_id', '=', userId)
      .execute();
  }

  /** The roles each of these members holds, by user id. */
  async listOfMembers(serverId: string, userIds: string[]): Promise<Map<string, RoleRow[]>> {
    const byUser = new Map<string, RoleRow[]>(userIds.map((userId) => [userId, []]));
    if (userIds.length === 0) return byUser;
    const rows = await this.#db
      .selectFrom('member_roles')
      .innerJoin('roles', 'roles.id', 'member_roles.role_id')
      .selectAll('roles')
      .select('member_roles.user_id as member_user_id')
      .where('member_roles.server_id', '=', serverId)
      .where('member_roles.user_id', 'in', userIds)
      .execute();
    for (const { member_user_id, ...role } of rows) byUser.get(member_user_id)?.push(role);
    return byUser;
  }

  /** The four built-in roles of a new community. */
  async createBuiltins(serverId: string): Promise<RoleRow[]> {
    const entries = Object.entries(builtinRoles) as Array<[BuiltinRole, (typeof builtinRoles)[BuiltinRole]]>;
    return this.#db
      .insertInto('roles')
      .values(
        entries.map(([key, role]) => ({
          server_id: serverId,
          builtin: key,
          name: role.name,
          rank: role.rank,
          permissions: [...role.permissions],
        })),
      )
      .returningAll()
      .execute();
  }

  /** Throws `UniqueConflict` when the community has a role of that name (case-insensitively). */
  create(values: { serverId: string; name: string; rank: number; permissions: string[] }): Promise<RoleRow> {
    return unique(
      'a role of that name',
      this.#db
        .insertInto('roles')
        .values({ server_id: values.serverId, name: values.name, rank: values.rank, permissions: values.permissions })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
  }

  /** Throws `UniqueConflict` when another role of the community has the new name. */
  update(
    serverId: string,
    id: string,
    values: { name?: string; rank?: number; permissions?: string[] },
  ): Promise<RoleRow | undefined> {
    return unique(
      'a role of that name',
      this.#db.updateTable('roles').set(values).where('server_id', '=', serverId).where('id', '=', id).returningAll().executeTakeFirst(),
    );
  }

  async delete(serverId: string, id: string): Promise<boolean> {
    const row = await this.#db
      .deleteFrom('roles')
      .where('server_id', '=', serverId)
      .where('id', '=', id)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async countCustom(serverId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('roles')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('server_id', '=', serverId)
      .where('builtin', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Ids of the members holding a role. */
  async listHolders(roleId: string): Promise<string[]> {
    const rows = await this.#db.selectFrom('member_roles').select('user_id').where('role_id', '=', roleId).execute();
    return rows.map((row) => row.user_id);
  }

  /** Gives a member one of the community's built-in roles. */
  async grantBuiltin(serverId: string, userId: string, builtin: BuiltinRoleKey): Promise<void> {
    await this.#db
      .insertInto('member_roles')
      .columns(['server_id', 'user_id', 'role_id'])
      .expression((eb) =>
        eb
          .selectFrom('roles')
          .select([eb.val(serverId).as('server_id'), eb.val(userId).as('user_id'), 'roles.id'])
          .where('roles.server_id', '=', serverId)
          .where('roles.builtin', '=', builtin),
      )
      .onConflict((conflict) => conflict.doNothing())
      .execute();
  }

  async grant(serverId: string, userId: string, roleIds: string[]): Promise<void> {
    if (roleIds.length === 0) return;
    await this.#db
      .insertInto('member_roles')
      .values(roleIds.map((roleId) => ({ server_id: serverId, user_id: userId, role_id: roleId })))
      .onConflict((conflict) => conflict.doNothing())
      .execute();
  }

  async revoke(serverId: string, userId: string, roleIds: string[]): Promise<void> {
    if (roleIds.length === 0) return;
    await this.#db
      .deleteFrom('member_roles')
      .where('server_id', '=', serverId)
      .where('user_id', '=', userId)
      .where('role_id', 'in', roleIds)
      .execute();
  }
}
