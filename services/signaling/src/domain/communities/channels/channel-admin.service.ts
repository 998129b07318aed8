import type { ChannelOverrideRow, ChannelRow } from '@parley/db';
import {
  limits,
  type Channel,
  type ChannelPermission,
  type CreateChannelRequest,
  type UpdateChannelRequest,
} from '@parley/protocol';
import { AppError } from '../../../errors.ts';
import type { Realtime } from '../../../realtime/realtime.ts';
import { rooms } from '../../../realtime/rooms.ts';
import type { Actor } from '../../accounts/actor.ts';
import type { Repositories, Store } from '../../store.ts';
import { toChannel } from '../community.mappers.ts';
import { loadAccess, type MemberAccess } from '../access/member-access.ts';
import type { LiveState } from '../live-state.ts';

/** A channel override as the domain receives it: the schema's defaults applied. */
interface OverrideInput {
  allow: ChannelPermission[];
  deny: ChannelPermission[];
}

/** A community's channels and their per-role permission overrides. */
export class ChannelAdminService {
  readonly #store: Store;
  readonly #realtime: Realtime;
  readonly #liveState: LiveState;

  constructor(deps: { store: Store; realtime: Realtime; liveState: LiveState }) {
    this.#store = deps.store;
    this.#realtime = deps.realtime;
    this.#liveState = deps.liveState;
  }

  /** The channels the actor can view, in order, with their overrides. Throws `server_not_found`, `not_a_member`. */
  async list(actor: Actor, serverId: string): Promise<Channel[]> {
    const repos = this.#store.repos;
    const access = await loadAccess(repos, serverId, actor.userId);
    const channels = await repos.channels.listByServer(serverId);
    const overrides = await repos.channels.listOverrides(channels.map((channel) => channel.id));
    return access.viewable(channels, overrides).map((channel) => toChannel(channel, overrides));
  }

  /**
   * Adds a channel after the last one (`manage_channels`).
   * Throws `server_not_found`, `not_a_member`, `forbidden`, `limit_reached`.
   */
  async create(actor: Actor, serverId: string, input: CreateChannelRequest): Promise<Channel> {
    const channel = await this.#store.transaction(async (repos) => {
      // Serialises creations in this community, so the cap and the positions hold.
      await repos.servers.getForUpdate(serverId);
      const access = await loadAccess(repos, serverId, actor.userId);
      access.require('manage_channels');
      const existing = await repos.channels.listByServer(serverId);
      if (existing.length >= limits.channelsPerServer.max) {
        throw new AppError('limit_reached', `A server can have at most ${limits.channelsPerServer.max} channels`);
      }
      const position = Math.max(-1, ...existing.map((row) => row.position)) + 1;
      const created = await repos.channels.create({ serverId, name: input.name, type: input.type, position });
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'channel.create',
        targetId: created.id,
        details: { name: created.name, type: created.type },
      });
      return created;
    });
    return this.#announce(channel, [], true);
  }

  /**
   * Renames or moves a channel (`manage_channels`).
   * Throws `server_not_found`, `not_a_member`, `forbidden`, `channel_not_found`.
   */
  async update(actor: Actor, serverId: string, channelId: string, input: UpdateChannelRequest): Promise<Channel> {
    const { channel, overrides } = await this.#store.transaction(async (repos) => {
      (await loadAccess(repos, serverId, actor.userId)).require('manage_channels');
      const changes: { name?: string; position?: number } = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.position !== undefined) changes.position = input.position;
      const channel = await repos.channels.update(serverId, channelId, changes);
      if (!channel) throw new AppError('channel_not_found');
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'channel.update',
        targetId: channelId,
        details: changes,
      });
      return { channel, overrides: await repos.channels.listOverrides([channelId]) };
    });
    return this.#announce(channel, overrides, false);
  }

  /**
   * Deletes a channel and its messages (`manage_channels`).
   * Throws `server_not_found`, `not_a_member`, `forbidden`, `channel_not_found`.
   */
  async delete(actor: Actor, serverId: string, channelId: string): Promise<void> {
    await this.#store.transaction(async (repos) => {
      (await loadAccess(repos, serverId, actor.userId)).require('manage_channels');
      const channel = await repos.channels.delete(serverId, channelId);
      if (!channel) throw new AppError('channel_not_found');
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'channel.delete',
        targetId: channelId,
        details: { name: channel.name, type: channel.type },
      });
    });
    // The channel's rooms are left as they are: nothing is ever emitted to them again.
    this.#realtime.emit(rooms.server(serverId), 'channel:deleted', { serverId, channelId });
    await this.#liveState.channelsClosed([channelId]);
  }

  /**
   * Sets what a role may do in one channel (`manage_channels`, on a role
   * ranked below the actor's; allowing needs the permission oneself).
   * Throws `server_not_found`, `not_a_member`, `forbidden`, `channel_not_found`,
   * `role_not_found`, `insufficient_rank`.
   */
  async setOverride(
    actor: Actor,
    serverId: string,
    channelId: string,
    roleId: string,
    input: OverrideInput,
  ): Promise<Channel> {
    const { channel, overrides } = await this.#store.transaction(async (repos) => {
      const { access, channel } = await loadOverrideTarget(repos, actor, serverId, channelId, roleId);
      const withheld = input.allow.filter((permission) => !access.has(permission));
      if (withheld.length > 0) {
        throw new AppError('forbidden', `You cannot allow permissions you do not hold: ${withheld.join(', ')}`);
      }
      await repos.channels.setOverride({ channelId, roleId, allow: input.allow, deny: input.deny });
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'channel.override_set',
        targetId: channelId,
        details: { roleId, allow: input.allow, deny: input.deny },
      });
      return { channel, overrides: await repos.channels.listOverrides([channelId]) };
    });
    const announced = this.#announce(channel, overrides, true);
    await this.#liveState.accessChanged(serverId);
    return announced;
  }

  /**
   * Removes a role's override in one channel (`manage_channels`, on a role
   * ranked below the actor's); nothing happens when it had none.
   * Throws `server_not_found`, `not_a_member`, `forbidden`, `channel_not_found`,
   * `role_not_found`, `insufficient_rank`.
   */
  async deleteOverride(actor: Actor, serverId: string, channelId: string, roleId: string): Promise<void> {
    const changed = await this.#store.transaction(async (repos) => {
      const { channel } = await loadOverrideTarget(repos, actor, serverId, channelId, roleId);
      if (!(await repos.channels.deleteOverride(channelId, roleId))) return undefined;
      await repos.auditLog.append({
        serverId,
        actorId: actor.userId,
        action: 'channel.override_delete',
        targetId: channelId,
        details: { roleId },
      });
      return { channel, overrides: await repos.channels.listOverrides([channelId]) };
    });
    if (!changed) return;
    this.#announce(changed.channel, changed.overrides, true);
    await this.#liveState.accessChanged(serverId);
  }

  /** Tells the community about the channel; `visibilityChanged` makes every pod recompute who is in its room. */
  #announce(row: ChannelRow, overrides: readonly ChannelOverrideRow[], visibilityChanged: boolean): Channel {
    const channel = toChannel(row, overrides);
    // Every pod forgets the access it remembers before any client hears of the change.
    if (visibilityChanged) this.#realtime.refreshRooms(row.server_id);
    this.#realtime.emit(rooms.server(row.server_id), 'channel:updated', channel);
    return channel;
  }
}

/** The actor's access, the channel and the role an override change acts on, all checked. */
async function loadOverrideTarget(
  repos: Repositories,
  actor: Actor,
  serverId: string,
  channelId: string,
  roleId: string,
): Promise<{ access: MemberAccess; channel: ChannelRow }> {
  const access = await loadAccess(repos, serverId, actor.userId);
  access.require('manage_channels');
  const [channel, role] = await Promise.all([repos.channels.get(channelId), repos.roles.get(serverId, roleId)]);
  if (!channel || channel.server_id !== serverId) throw new AppError('channel_not_found');
  if (!role) throw new AppError('role_not_found');
  access.requireOutranks(role.rank);
  return { access, channel };
}
