import type { Server, UpdateServerRequest } from '@parley/protocol';
import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';
import type { Actor } from '../accounts/actor.ts';
import type { PasswordHasher } from '../accounts/password-hasher.ts';
import type { Store } from '../store.ts';
import { roomsOfCommunity } from './community-rooms.ts';
import { toServer } from './community.mappers.ts';
import { loadAccess } from './access/member-access.ts';
import type { LiveState } from './live-state.ts';
import type { ServerChanges } from './server.repository.ts';
import { requireUsableImage } from '../media/usable-image.ts';


/** A community's own settings, and its deletion. */
export class ServerSettingsService {
  readonly #store: Store;
  readonly #realtime: Realtime;
  readonly #liveState: LiveState;
  readonly #hasher: PasswordHasher;

  constructor(deps: { store: Store; realtime: Realtime; clock: Clock; hasher: PasswordHasher; liveState: LiveState }) {
    this.#store = deps.store;
    this.#realtime = deps.realtime;
    this.#liveState = deps.liveState;
    this.#hasher = deps.hasher;
  }

  /**
   * Changes the settings given (`manage_server`). A new `password` is stored
   * hashed; `maxMembers` below the current count only stops new joins.
   * Throws `server_not_found`, `not_a_member`, `forbidden`, `invalid_payload`
   * (the `password` policy without any password).
   */
  async update(actor: Actor, serverId: string, input: UpdateServerRequest): Promise<Server> {
    // Checked before hashing too, so that no one but a manager can make the node spend an argon2 hash.
    if (input.password !== undefined) (await loadAccess(this.#store.repos, serverId, actor.userId)).require('manage_server');
    const passwordHash = input.password === undefined ? undefined : await this.#hasher.hash(input.password);

    const server = await this.#store.transaction(async (repos) => {
      const access = await loadAccess(repos, serverId, actor.userId);
      access.require('manage_server');
      if (input.iconFileId) await requireUsableImage(repos, actor.userId, input.iconFileId, 'icon');
      const changes = changesOf(input, passwordHash);
      if (input.joinPolicy === 'password' && passwordHash === undefined && access.server.password_hash === null) {
        throw new AppError('invalid_payload', 'The password policy needs a password', {
          details: [{ path: 'password', message: 'is required to switch to the password policy' }],
        });
      }
      const updated = await repos.servers.update(serverId, changes);
      if (!updated) throw new AppError('server_not_found');
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'server.update',
        // Field names only: never the password or its hash.
        details: { fields: changedFields(input) },
      });
      return updated;
    });

    const result = toServer(server);
    this.#realtime.emit(rooms.server(serverId), 'server:updated', result);
    return result;
  }

  /**
   * Deletes the community and everything in it (owner only). Every member's
   * connections hear `server:removed` and leave its rooms. The audit entry is
   * kept without a community (`server_id` null, `target_id` the community),
   * since the community's own entries go with it.
   * Throws `server_not_found`, `not_a_member`, `forbidden`.
   */
  async delete(actor: Actor, serverId: string): Promise<void> {
    const { channelIds, memberIds } = await this.#store.transaction(async (repos) => {
      const access = await loadAccess(repos, serverId, actor.userId);
      if (!access.isOwner) throw new AppError('forbidden', 'Only the owner can delete the server');
      // Every pod caches the id of the community SERVER_NAME runs; deleting it would leave them pointing at nothing.
      if (access.server.is_default) throw new AppError('forbidden', "The deployment's default server cannot be deleted");
      const [channels, memberIds] = await Promise.all([
        repos.channels.listByServer(serverId),
        repos.members.listUserIds(serverId),
      ]);
      if (!(await repos.servers.delete(serverId))) throw new AppError('server_not_found');
      await repos.auditLog.append({
        serverId: null,
        actorId: actor.userId,
        action: 'server.delete',
        targetId: serverId,
        details: { name: access.server.name },
      });
      return { channelIds: channels.map((channel) => channel.id), memberIds };
    });

    // Heard while every connection is still in the community's room; then the rooms are emptied.
    this.#realtime.emit(rooms.server(serverId), 'server:removed', { serverId, reason: 'deleted' });
    const roomNames = roomsOfCommunity(serverId, channelIds);
    for (const userId of memberIds) this.#realtime.removeUserFromRooms(userId, roomNames);
    await this.#liveState.channelsClosed(channelIds);
  }
}

function changesOf(input: UpdateServerRequest, passwordHash: string | undefined): ServerChanges {
  const changes: ServerChanges = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.description !== undefined) changes.description = input.description || null;
  if (input.iconUrl !== undefined) changes.icon_url = input.iconUrl;
  if (input.iconFileId !== undefined) changes.icon_file_id = input.iconFileId;
  if (input.joinPolicy !== undefined) changes.join_policy = input.joinPolicy;
  if (passwordHash !== undefined) changes.password_hash = passwordHash;
  if (input.discoverable !== undefined) changes.discoverable = input.discoverable;
  if (input.maxMembers !== undefined) changes.max_members = input.maxMembers;
  return changes;
}

function changedFields(input: UpdateServerRequest): string[] {
  return Object.entries(input)
    .filter(([, value]) => value !== undefined)
    .map(([field]) => field);
}
