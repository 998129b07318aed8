import type { ChannelRow } from '@parley/db';
import type { CreateServerRequest, ServerWithChannels } from '@parley/protocol';
import { AppError } from '../../errors.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';
import type { Actor } from '../accounts/actor.ts';
import type { Repositories, Store } from '../store.ts';
import { toChannel, toServer } from './community.mappers.ts';
import { admitMember } from './membership/admission.ts';

export const DEFAULT_TEXT_CHANNEL = 'general';
export const DEFAULT_VOICE_CHANNEL = 'Voice';

/** Communities ("servers"): creation, the deployment's default one, and handing one over. Who may use which channel is `ChannelAccess`. */
export class CommunityService {
  readonly #store: Store;
  readonly #realtime: Realtime;
  #defaultServerId: string | undefined;

  constructor(deps: { store: Store; realtime: Realtime }) {
    this.#store = deps.store;
    this.#realtime = deps.realtime;
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
    // The owner is not subject to channel overrides: both may now see different
    // channels. Every pod forgets the access it remembers before any client hears of it.
    this.#realtime.refreshRooms(serverId, previousOwnerId ? [previousOwnerId, userId] : [userId]);
    this.#realtime.emit(rooms.server(serverId), 'server:updated', toServer(server));
    return { previousOwnerId };
  }
}

/** The built-in roles and the first text channel of a new community. */
async function createStarterContent(repos: Repositories, serverId: string): Promise<ChannelRow> {
  await repos.roles.createBuiltins(serverId);
  return repos.channels.create({ serverId, name: DEFAULT_TEXT_CHANNEL, type: 'text', position: 0 });
}
