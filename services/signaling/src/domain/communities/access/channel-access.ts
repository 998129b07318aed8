import type { ChannelRow } from '@parley/db';
import type { Permission } from '@parley/protocol';
import type { Clock } from '../../../clock.ts';
import { AppError } from '../../../errors.ts';
import { rooms } from '../../../realtime/rooms.ts';
import type { Store } from '../../store.ts';
import { channelPermissionsOf, isMuted, viewableChannels, type Grant } from './permissions.ts';

/**
 * Who may use which channel, read-only: the rooms a connection belongs in,
 * the channels a member may view, and the checks chat and voice make before
 * they act. Everything that decides access reads it here.
 */
export class ChannelAccess {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(deps: { store: Store; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
  }

  /** Rooms a new connection of this user belongs in: its communities and the channels it may see. */
  async roomsOf(userId: string): Promise<string[]> {
    const { serverIds, channels } = await this.viewableBy(userId);
    return [...serverIds.map(rooms.server), ...channels.map((channel) => rooms.channel(channel.id))];
  }

  /**
   * The communities a user belongs to and every channel of theirs the user
   * may view. Four queries, however many communities: it runs on every connect.
   */
  async viewableBy(userId: string): Promise<{ serverIds: string[]; channels: ChannelRow[] }> {
    const repos = this.#store.repos;
    const [memberships, roles] = await Promise.all([repos.members.listMemberships(userId), repos.roles.listOfUser(userId)]);
    const channels = await repos.channels.listByServers(memberships.map((membership) => membership.server_id));
    const overrides = await repos.channels.listOverrides(channels.map((channel) => channel.id));
    const viewable = memberships.flatMap(({ server_id: serverId, owner_id: ownerId }) => {
      const grant: Grant = { isOwner: ownerId === userId, roles: roles.filter((role) => role.server_id === serverId) };
      return viewableChannels(grant, channels.filter((channel) => channel.server_id === serverId), overrides);
    });
    return { serverIds: memberships.map((membership) => membership.server_id), channels: viewable };
  }

  /**
   * For each of these users who is an active member, the ids of the
   * community's channels they may view; `all` lists every channel.
   */
  async visibleChannels(
    serverId: string,
    userIds?: string[],
  ): Promise<{ all: string[]; byUser: Map<string, string[]> }> {
    const repos = this.#store.repos;
    const [server, channels, memberIds] = await Promise.all([
      repos.servers.get(serverId),
      repos.channels.listByServer(serverId),
      repos.members.listUserIds(serverId, userIds),
    ]);
    const byUser = new Map<string, string[]>();
    if (!server) return { all: [], byUser };
    const [overrides, rolesByUser] = await Promise.all([
      repos.channels.listOverrides(channels.map((channel) => channel.id)),
      repos.roles.listOfMembers(serverId, memberIds),
    ]);
    for (const userId of memberIds) {
      const grant: Grant = { isOwner: server.owner_id === userId, roles: rolesByUser.get(userId) ?? [] };
      byUser.set(userId, viewableChannels(grant, channels, overrides).map((channel) => channel.id));
    }
    return { all: channels.map((channel) => channel.id), byUser };
  }

  /**
   * The text channel, when the user holds `permission` in it (and, to send,
   * is not server-muted). Throws `channel_not_found`, `not_a_member`, `forbidden`, `muted`.
   */
  async requireTextChannel(userId: string, channelId: string, permission: Permission): Promise<ChannelRow> {
    const channel = await this.#store.repos.channels.getWithAccess(channelId, userId);
    if (!channel || channel.type !== 'text') throw new AppError('channel_not_found');
    if (!channel.is_member) throw new AppError('not_a_member');
    const granted = channelPermissionsOf({ isOwner: channel.owner_id === userId, roles: channel.roles }, channel.overrides);
    if (!granted.has('view_channels') || !granted.has(permission)) {
      throw new AppError('forbidden', `This needs the ${permission} permission in this channel`);
    }
    if (permission === 'send_messages' && isMuted(channel, this.#clock.now())) throw new AppError('muted');
    return channel;
  }

  /** The ids of a community's voice channels. */
  async voiceChannelIdsOf(serverId: string): Promise<string[]> {
    const channels = await this.#store.repos.channels.listByServer(serverId);
    return channels.filter((channel) => channel.type === 'voice').map((channel) => channel.id);
  }

  /**
   * The voice channel, when the user may view it and connect; `canSpeak` is
   * false without `speak` there or while server-muted.
   * Throws `channel_not_found`, `not_a_member`, `forbidden`.
   */
  async requireVoiceChannel(userId: string, channelId: string): Promise<{ channel: ChannelRow; canSpeak: boolean }> {
    const channel = await this.#store.repos.channels.getWithAccess(channelId, userId);
    if (!channel || channel.type !== 'voice') throw new AppError('channel_not_found');
    if (!channel.is_member) throw new AppError('not_a_member');
    const granted = channelPermissionsOf({ isOwner: channel.owner_id === userId, roles: channel.roles }, channel.overrides);
    if (!granted.has('view_channels') || !granted.has('connect_voice')) {
      throw new AppError('forbidden', 'This needs the connect_voice permission in this channel');
    }
    return { channel, canSpeak: granted.has('speak') && !isMuted(channel, this.#clock.now()) };
  }
}
