import type { ChannelRow } from '@parley/db';
import type { CreateServerRequest, Permission, ServerWithChannels } from '@parley/protocol';
import { AppError } from '../../errors.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';
import type { Clock } from '../../clock.ts';
import type { Actor } from '../accounts/actor.ts';
import type { Repositories, Store } from '../store.ts';
import { toChannel, toServer } from './community.mappers.ts';
import { admitMember } from './membership/admission.ts';
import { channelPermissionsOf, isMuted, viewableChannels, type Grant } from './access/permissions.ts';

export const DEFAULT_TEXT_CHANNEL = 'general';
export const DEFAULT_VOICE_CHANNEL = 'Voice';

/** Communities ("servers"): creation, the deployment's default one, and who may use which channel. */
export class CommunityService {
  readonly #store: Store;
  readonly #realtime: Realtime;
  readonly #clock: Clock;
  #defaultServerId: string | undefined;

  constructor(deps: { store: Store; realtime: Realtime; clock: Clock }) {
    this.#store = deps.store;
    this.#realtime = deps.realtime;
    this.#clock = deps.clock;
  }

  /** Creates a community with the built-in roles and a text channel; the actor is its owner and first member. */
  async createServer(actor: Actor, input: CreateServerRequest): Promise<ServerWithChannels> {
    const { server, channel } = await this.#store.transaction(async (repos) => {
      const server = await repos.servers.create({
        name: input.name,
        description: input.description || null,
        ownerId: actor.userId,
      });
      const channel = await createStarterContent(repos, server.id);
      await admitMember(repos, { server, userId: actor.userId, nickname: null });
      await repos.auditLog.append({ serverId: server.id, actorId: actor.userId, action: 'server.create' });
      return { server: { ...server, member_count: 1 }, channel };
    });
    this.#realtime.addUserToRooms(actor.userId, [rooms.server(server.id), rooms.channel(channel.id)]);
    return { ...toServer(server), channels: [toChannel(channel)] };
  }

  /**
   * Creates the deployment's one community (`SERVER_NAME`) unless it exists.
   * Safe when several pods start at once: one insert wins, the others read
   * it. It has no owner until the first user joins (see MembershipService).
   */
  async ensureDefaultServer(name: string): Promise<string> {
    const id = await this.#store.transaction(async (repos) => {
      const created = await repos.servers.createDefault({ name });
      if (created) {
        await createStarterContent(repos, created.id);
        await repos.channels.create({ serverId: created.id, name: DEFAULT_VOICE_CHANNEL, type: 'voice', position: 1 });
        return created.id;
      }
      const existing = await repos.servers.getDefault();
      if (!existing) throw new Error('the default community was neither created nor found');
      return existing.id;
    });
    this.#defaultServerId = id;
    return id;
  }

  /** The community an event names, or the default one where `SERVER_NAME` runs one. Throws `invalid_payload`. */
  resolveServerId(serverId: string | undefined): string {
    const id = serverId ?? this.#defaultServerId;
    if (!id) throw new AppError('invalid_payload', 'serverId is required', { details: [{ path: 'serverId', message: 'is required' }] });
    return id;
  }

  /**
   * Makes `userId` the owner (the seed's `setOwner` recovery path, for the
   * admin CLI): they become a member if they were not, the previous owner
   * stays a member. Audited with no actor. Throws `server_not_found`, `not_found` (no such user).
   */
  async setOwner(serverId: string, userId: string): Promise<{ previousOwnerId: string | null }> {
    const { server, previousOwnerId } = await this.#store.transaction(async (repos) => {
      const current = await repos.servers.getForUpdate(serverId);
      if (!current) throw new AppError('server_not_found');
      if (!(await repos.users.get(userId))) throw new AppError('not_found', 'No such user');
      await admitMember(repos, { server: current, userId, nickname: null });
      const server = (await repos.servers.update(serverId, { owner_id: userId }))!;
      await repos.auditLog.append({
        serverId,
        actorId: null,
        action: 'server.set_owner',
        targetUserId: userId,
        details: { previousOwnerId: current.owner_id },
      });
      return { server, previousOwnerId: current.owner_id };
    });
    this.#realtime.emit(rooms.server(serverId), 'server:updated', toServer(server));
    // The owner is not subject to channel overrides: both may now see different channels.
    this.#realtime.refreshRooms(serverId, previousOwnerId ? [previousOwnerId, userId] : [userId]);
    return { previousOwnerId };
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

/** The built-in roles and the first text channel of a new community. */
async function createStarterContent(repos: Repositories, serverId: string): Promise<ChannelRow> {
  await repos.roles.createBuiltins(serverId);
  return repos.channels.create({ serverId, name: DEFAULT_TEXT_CHANNEL, type: 'text', position: 0 });
}
