import type { ChannelRow } from '@parley/db';
import type { Permission } from '@parley/protocol';
import type { Clock } from '../../../clock.ts';
import { AppError } from '../../../errors.ts';
import { rooms } from '../../../realtime/rooms.ts';
import type { Store } from '../../store.ts';
import { AccessCache, type ChannelStanding } from './access-cache.ts';
import { channelPermissionsOf, isMuted, viewableChannels, type Grant } from './permissions.ts';

/** The channel an access check let through: what its callers act on. */
export type AccessibleChannel = ChannelStanding['channel'];

/**
 * Who may use which channel, read-only: the rooms a connection belongs in,
 * the channels a member may view, and the checks chat and voice make before
 * they act. Everything that decides access reads it here.
 */
export class ChannelAccess {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #cache: AccessCache;

  /** Without `cache`, every check reads the database. */
  constructor(deps: { store: Store; clock: Clock; cache?: AccessCache }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#cache = deps.cache ?? new AccessCache({ ttlMs: 0, maxEntries: 0 });
  }

  /** Roles, overrides, membership, mutes, ownership or channels of a community changed: checks read them afresh. */
  forgetServer(serverId: string): void {
    this.#cache.forgetServer(serverId);
  }

  /** This pod may have missed changes (its link to the other pods was down): every check reads afresh. */
  forgetAll(): void {
    this.#cache.forgetAll();
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
  async requireTextChannel(userId: string, channelId: string, permission: Permission): Promise<AccessibleChannel> {
    const standing = await this.#standing(userId, channelId);
    if (!standing || standing.channel.type !== 'text') throw new AppError('channel_not_found');
    if (!standing.isMember) throw new AppError('not_a_member');
    if (!standing.permissions.has('view_channels') || !standing.permissions.has(permission)) {
      throw new AppError('forbidden', `This needs the ${permission} permission in this channel`);
    }
    if (permission === 'send_messages' && isMuted(standing, this.#clock.now())) throw new AppError('muted');
    return standing.channel;
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
  async requireVoiceChannel(userId: string, channelId: string): Promise<{ channel: AccessibleChannel; canSpeak: boolean }> {
    const standing = await this.#standing(userId, channelId);
    if (!standing || standing.channel.type !== 'voice') throw new AppError('channel_not_found');
    if (!standing.isMember) throw new AppError('not_a_member');
    if (!standing.permissions.has('view_channels') || !standing.permissions.has('connect_voice')) {
      throw new AppError('forbidden', 'This needs the connect_voice permission in this channel');
    }
    return { channel: standing.channel, canSpeak: standing.permissions.has('speak') && !isMuted(standing, this.#clock.now()) };
  }

  /** One round trip (`getWithAccess`) unless the cache holds a current standing. */
  #standing(userId: string, channelId: string): Promise<ChannelStanding | undefined> {
    return this.#cache.get(userId, channelId, async () => {
      const row = await this.#store.repos.channels.getWithAccess(channelId, userId);
      if (!row) return undefined;
      return {
        channel: { id: row.id, server_id: row.server_id, type: row.type },
        isMember: row.is_member,
        permissions: channelPermissionsOf({ isOwner: row.owner_id === userId, roles: row.roles }, row.overrides),
        muted: row.muted,
        muted_until: row.muted_until,
      };
    });
  }
}
