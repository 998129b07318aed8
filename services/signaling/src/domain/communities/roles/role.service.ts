import type { RoleRow } from '@parley/db';
import { limits, type Permission, type Role } from '@parley/protocol';
import { AppError } from '../../../errors.ts';
import type { Realtime } from '../../../realtime/realtime.ts';
import { rooms } from '../../../realtime/rooms.ts';
import type { Actor } from '../../accounts/actor.ts';
import type { Store } from '../../store.ts';
import { toRole } from '../community.mappers.ts';
import { loadAccess, type MemberAccess } from '../access/member-access.ts';
import type { LiveState } from '../live-state.ts';
import { UniqueConflict } from '../../unique-conflict.ts';

/** A role as the domain receives it: the schema's defaults applied. */
export interface RoleInput {
  name: string;
  rank: number;
  permissions: Permission[];
}

/** A community's ranked roles. */
export class RoleService {
  readonly #store: Store;
  readonly #realtime: Realtime;
  readonly #liveState: LiveState;

  constructor(deps: { store: Store; realtime: Realtime; liveState: LiveState }) {
    this.#store = deps.store;
    this.#realtime = deps.realtime;
    this.#liveState = deps.liveState;
  }

  /** Every role of the community, highest rank first. Throws `server_not_found`, `not_a_member`. */
  async list(actor: Actor, serverId: string): Promise<Role[]> {
    await loadAccess(this.#store.repos, serverId, actor.userId);
    return (await this.#store.repos.roles.listByServer(serverId)).map(toRole);
  }

  /**
   * Creates a custom role (`manage_roles`) ranked below the actor, granting
   * only permissions the actor holds. Throws `server_not_found`,
   * `not_a_member`, `forbidden`, `insufficient_rank`, `limit_reached`, `name_taken`.
   */
  async create(actor: Actor, serverId: string, input: RoleInput): Promise<Role> {
    const role = await this.#store.transaction(async (repos) => {
      // Serialises creations in this community, so the cap holds.
      await repos.servers.getForUpdate(serverId);
      const access = await loadAccess(repos, serverId, actor.userId);
      access.require('manage_roles');
      access.requireOutranks(input.rank);
      requireHeld(access, input.permissions);
      if ((await repos.roles.countCustom(serverId)) >= limits.customRolesPerServer.max) {
        throw new AppError('limit_reached', `A server can have at most ${limits.customRolesPerServer.max} custom roles`);
      }
      const created = await nameTaken(repos.roles.create({ serverId, ...input }));
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'role.create',
        targetId: created.id,
        details: { name: created.name, rank: created.rank, permissions: created.permissions },
      });
      return created;
    });
    const result = toRole(role);
    this.#realtime.emit(rooms.server(serverId), 'role:updated', result);
    return result;
  }

  /**
   * Changes a role ranked below the actor (`manage_roles`): a new rank must
   * stay below the actor's, and only permissions the actor holds may be
   * added. Built-in roles keep their name and rank. Throws `server_not_found`,
   * `not_a_member`, `forbidden`, `role_not_found`, `insufficient_rank`, `name_taken`.
   */
  async update(actor: Actor, serverId: string, roleId: string, input: Partial<RoleInput>): Promise<Role> {
    const { role, changes } = await this.#store.transaction(async (repos) => {
      const access = await loadAccess(repos, serverId, actor.userId);
      access.require('manage_roles');
      const role = await repos.roles.get(serverId, roleId);
      if (!role) throw new AppError('role_not_found');
      access.requireOutranks(role.rank);
      const changes = changesOf(role, input);
      if (Object.keys(changes).length === 0) return { role, changes };
      if (role.builtin && (changes.name !== undefined || changes.rank !== undefined)) {
        throw new AppError('forbidden', 'Built-in roles keep their name and rank; only their permissions can change');
      }
      if (changes.rank !== undefined) access.requireOutranks(changes.rank);
      if (changes.permissions) requireHeld(access, changes.permissions.filter((p) => !role.permissions.includes(p)));
      const updated = await nameTaken(repos.roles.update(serverId, roleId, changes));
      if (!updated) throw new AppError('role_not_found');
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'role.update',
        targetId: roleId,
        details: { ...changes },
      });
      return { role: updated, changes };
    });
    const result = toRole(role);
    if (Object.keys(changes).length === 0) return result;
    // Permissions decide which channels the role's holders may view. Every
    // pod forgets the access it remembers before any client hears of the change.
    if (changes.permissions) this.#realtime.refreshRooms(serverId);
    this.#realtime.emit(rooms.server(serverId), 'role:updated', result);
    if (changes.permissions) await this.#liveState.accessChanged(serverId);
    return result;
  }

  /**
   * Deletes a custom role ranked below the actor (`manage_roles`); its
   * holders lose it. Throws `server_not_found`, `not_a_member`, `forbidden`
   * (a built-in role), `role_not_found`, `insufficient_rank`.
   */
  async delete(actor: Actor, serverId: string, roleId: string): Promise<void> {
    const holders = await this.#store.transaction(async (repos) => {
      const access = await loadAccess(repos, serverId, actor.userId);
      access.require('manage_roles');
      const role = await repos.roles.get(serverId, roleId);
      if (!role) throw new AppError('role_not_found');
      if (role.builtin) throw new AppError('forbidden', 'Built-in roles cannot be deleted');
      access.requireOutranks(role.rank);
      const holders = await repos.roles.listHolders(roleId);
      if (!(await repos.roles.delete(serverId, roleId))) throw new AppError('role_not_found');
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'role.delete',
        targetId: roleId,
        details: { name: role.name },
      });
      return holders;
    });
    if (holders.length > 0) this.#realtime.refreshRooms(serverId, holders);
    this.#realtime.emit(rooms.server(serverId), 'role:deleted', { serverId, roleId });
    if (holders.length > 0) await this.#liveState.accessChanged(serverId, holders);
  }
}

/** The fields of `input` that differ from the role as stored. */
function changesOf(role: RoleRow, input: Partial<RoleInput>): Partial<RoleInput> {
  const changes: Partial<RoleInput> = {};
  if (input.name !== undefined && input.name !== role.name) changes.name = input.name;
  if (input.rank !== undefined && input.rank !== role.rank) changes.rank = input.rank;
  if (input.permissions !== undefined && !sameSet(input.permissions, role.permissions)) changes.permissions = input.permissions;
  return changes;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

/** Throws `forbidden` unless the actor holds every permission they grant (the owner holds them all). */
function requireHeld(access: MemberAccess, granted: readonly Permission[]): void {
  const withheld = granted.filter((permission) => !access.has(permission));
  if (withheld.length > 0) {
    throw new AppError('forbidden', `You cannot grant permissions you do not hold: ${withheld.join(', ')}`);
  }
}

/** Maps the unique index on (server, lower(name)) to `name_taken`. */
async function nameTaken<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof UniqueConflict) throw new AppError('name_taken', 'Another role of this server has that name', { cause: error });
    throw error;
  }
}
