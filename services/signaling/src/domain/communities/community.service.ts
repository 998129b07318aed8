import type { Channel, CreateServerRequest, Server, ServerWithChannels } from '@parley/protocol';
import type { ChannelRow, ServerRow } from '@parley/db';
import { AppError } from '../../errors.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';
import type { Actor } from '../accounts/actor.ts';
import type { Store } from '../store.ts';

export const DEFAULT_TEXT_CHANNEL = 'general';

/** Communities ("servers"), their channels and members. */
export class CommunityService {
  readonly #store: Store;
  readonly #realtime: Realtime;

  constructor(deps: { store: Store; realtime: Realtime }) {
    this.#store = deps.store;
    this.#realtime = deps.realtime;
  }

  /** Creates a community with one text channel; the actor is its owner and first member. */
  async createServer(actor: Actor, input: CreateServerRequest): Promise<ServerWithChannels> {
    const { server, channel } = await this.#store.transaction(async (repos) => {
      const server = await repos.servers.create({
        name: input.name,
        description: input.description || null,
        ownerId: actor.userId,
      });
      const channel = await repos.channels.create({
        serverId: server.id,
        name: DEFAULT_TEXT_CHANNEL,
        type: 'text',
        position: 0,
      });
      await repos.members.create({ serverId: server.id, userId: actor.userId, nickname: null });
      return { server, channel };
    });
    this.#realtime.addUserToRooms(actor.userId, [rooms.server(server.id), rooms.channel(channel.id)]);
    return { ...toServer(server), channels: [toChannel(channel)] };
  }

  /** Rooms a new connection of this user belongs in: its servers and their channels. */
  async roomsOf(userId: string): Promise<string[]> {
    const { serverIds, channelIds } = await this.#store.repos.members.listSubscriptions(userId);
    return [...serverIds.map(rooms.server), ...channelIds.map(rooms.channel)];
  }

  /**
   * The text channel, when the user may read and write it.
   * Throws `channel_not_found` or `not_a_member`.
   */
  async requireTextChannelAccess(userId: string, channelId: string): Promise<ChannelRow> {
    const channel = await this.#store.repos.channels.get(channelId);
    if (!channel || channel.type !== 'text') throw new AppError('channel_not_found');
    const member = await this.#store.repos.members.getActive(channel.server_id, userId);
    if (!member) throw new AppError('not_a_member');
    return channel;
  }
}

function toServer(row: ServerRow): Server {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    ownerId: row.owner_id,
    joinPolicy: row.join_policy,
    discoverable: row.discoverable,
    createdAt: row.created_at.toISOString(),
  };
}

function toChannel(row: ChannelRow): Channel {
  return { id: row.id, serverId: row.server_id, name: row.name, type: row.type, position: row.position };
}
