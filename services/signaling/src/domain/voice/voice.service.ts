import type { VoiceChannelState, VoiceGrant, VoiceOwnership, VoiceParticipant, VoiceStateUpdateRequest, VoiceTakeoverResult } from '@parley/protocol';
import type { VoiceLeaveReason } from '@parley/protocol';
import type { Clock } from '../../clock.ts';
import type { NodeScopedState } from '../../cluster/node-liveness.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';
import type { ChannelAccess } from '../communities/access/channel-access.ts';
import type { IceServerProvider } from './ice-servers.ts';
import type { JoinTokenIssuer } from './join-token.ts';
import { roomIdOf, seatPermissions, toParticipant } from './voice.mappers.ts';
import type { VoiceSeat, VoiceStore } from './voice.store.ts';

/** The connection a voice event came from. */
export interface VoiceConnection {
  userId: string;
  displayName: string;
  clientInstanceId: string;
  /** The Socket.IO socket id. */
  connectionId: string;
}

export interface VoiceSettings {
  /** Participants per voice channel. */
  maxUsers: number;
  /** Public SFU addresses; empty: rooms cannot be granted. */
  sfuUrls: readonly string[];
}

/** Everyone who sees a voice channel in their list, and everyone in its room. */
function audienceOf(channelId: string): string[] {
  return [rooms.channel(channelId), rooms.voice(channelId)];
}

/**
 * Voice rooms through the SFU (the Gryt seed) and voice ownership (the
 * MetoYou seed): one device per user owns voice and holds their seat.
 * The shared state is atomic in the VoiceStore; this service checks
 * permissions, mints grants and announces what changed.
 */
export class VoiceService implements NodeScopedState {
  readonly #access: ChannelAccess;
  readonly #voice: VoiceStore;
  readonly #realtime: Realtime;
  readonly #tokens: JoinTokenIssuer;
  readonly #iceServers: IceServerProvider;
  readonly #clock: Clock;
  readonly #settings: VoiceSettings;
  readonly #log: Logger;
  /**
   * This pod's connections that own voice (by socket id): a disconnect of
   * any other costs no Redis call, and after a node loss these are told.
   * An entry may outlive a takeover made through another pod; releasing it
   * again is harmless.
   */
  readonly #localOwners = new Map<string, string>();
  /** Closed owning connections whose release failed (Redis away), retried on every heartbeat. */
  readonly #pendingReleases = new Map<string, VoiceConnection>();

  constructor(deps: {
    access: ChannelAccess;
    voice: VoiceStore;
    realtime: Realtime;
    tokens: JoinTokenIssuer;
    iceServers: IceServerProvider;
    clock: Clock;
    settings: VoiceSettings;
    logger: Logger;
  }) {
    this.#access = deps.access;
    this.#voice = deps.voice;
    this.#realtime = deps.realtime;
    this.#tokens = deps.tokens;
    this.#iceServers = deps.iceServers;
    this.#clock = deps.clock;
    this.#settings = deps.settings;
    this.#log = deps.logger.child({ module: 'voice' });
  }

  /**
   * Seats the connection in a voice channel (moving it from another one) and
   * grants SFU access. Throws `voice_unavailable`, `channel_not_found`,
   * `not_a_member`, `forbidden`, `room_full`, `voice_in_use`.
   */
  async request(connection: VoiceConnection, channelId: string): Promise<VoiceGrant> {
    if (this.#settings.sfuUrls.length === 0) throw new AppError('voice_unavailable');
    const { userId, clientInstanceId, connectionId } = connection;
    const { channel, canSpeak } = await this.#access.requireVoiceChannel(userId, channelId);
    const result = await this.#voice.join(
      { userId, serverId: channel.server_id, channelId, clientInstanceId, connectionId, serverMuted: !canSpeak },
      this.#settings.maxUsers,
    );
    if (result.status === 'full') throw new AppError('room_full');
    if (result.status === 'owned_elsewhere') throw new AppError('voice_in_use');
    this.#localOwners.set(connectionId, userId);
    if (result.moved) this.#announceLeft(result.moved, 'moved');
    if (!result.alreadySeated) {
      this.#realtime.addConnectionToRooms(connectionId, [rooms.voice(channelId)]);
      this.#realtime.emit(audienceOf(channelId), 'voice:joined', toParticipant(result.seat));
      this.#announceOwner(userId, { clientInstanceId, channelId });
    }
    return this.#grant(connection, result.seat);
  }

  /** The SFU stream id once media flows; `""` leaves voice. Throws `not_voice_owner`. */
  async setStream(connection: VoiceConnection, streamId: string): Promise<VoiceParticipant | null> {
    if (streamId === '') {
      await this.leave(connection);
      return null;
    }
    return this.#updateSeat(connection, { streamId });
  }

  /** Mute, deafen and AFK flags. Throws `not_voice_owner`, `muted` (unmuting while server-muted). */
  async updateState(connection: VoiceConnection, flags: VoiceStateUpdateRequest): Promise<VoiceParticipant> {
    if (!flags.isMuted) {
      // Checked first so that a refused unmute changes none of the flags.
      const seat = await this.#seatOf(connection.userId);
      if (seat?.connectionId === connection.connectionId && seat.serverMuted) await this.#liftExpiredMute(seat);
    }
    return this.#updateSeat(connection, flags);
  }

  /**
   * A server-muted participant asks to unmute: allowed only if they may speak
   * now (a timed mute may have run out since). Throws `muted` otherwise.
   */
  async #liftExpiredMute(seat: VoiceSeat): Promise<void> {
    const { canSpeak } = await this.#access.requireVoiceChannel(seat.userId, seat.channelId);
    if (!canSpeak) throw new AppError('muted');
    await this.#voice.setServerMuted(seat.serverId, seat.userId, false);
  }

  /** Leaves voice: the seat and the ownership. Throws `not_voice_owner`. */
  async leave(connection: VoiceConnection): Promise<void> {
    if (!(await this.#release(connection, 'left'))) throw new AppError('not_voice_owner');
  }

  /** The connection closed: if it owned voice, its seat and ownership go. */
  async disconnected(connection: VoiceConnection): Promise<void> {
    if (!this.#localOwners.has(connection.connectionId)) return;
    try {
      await this.#release(connection, 'disconnected');
    } catch (error) {
      this.#pendingReleases.set(connection.connectionId, connection);
      throw error;
    }
  }

  /** Retries the releases that failed; those failing again stay queued. */
  async retryPending(): Promise<void> {
    for (const [connectionId, connection] of this.#pendingReleases) {
      await this.#release(connection, 'disconnected');
      this.#pendingReleases.delete(connectionId);
    }
  }

  /**
   * Makes this connection the user's voice device. The previous one, on
   * whichever pod, is told to release; a seat moves over without the room
   * seeing anyone leave, and comes with a grant for this device.
   */
  async takeover(connection: VoiceConnection): Promise<VoiceTakeoverResult> {
    const { userId, clientInstanceId, connectionId } = connection;
    const { previous, seat } = await this.#voice.takeover(userId, connectionId, clientInstanceId);
    this.#localOwners.set(connectionId, userId);
    if (previous) {
      this.#localOwners.delete(previous.connectionId);
      if (seat) this.#realtime.removeConnectionFromRooms(previous.connectionId, [rooms.voice(seat.channelId)]);
      this.#realtime.emit(rooms.connection(previous.connectionId), 'voice:released', {
        reason: 'takeover',
        byClientInstanceId: clientInstanceId,
      });
    }
    if (seat) this.#realtime.addConnectionToRooms(connectionId, [rooms.voice(seat.channelId)]);
    this.#announceOwner(userId, { clientInstanceId, channelId: seat?.channelId ?? null });
    const grant = seat && this.#settings.sfuUrls.length > 0 ? await this.#grant(connection, seat) : null;
    return {
      previousClientInstanceId: previous?.clientInstanceId ?? null,
      participant: seat ? toParticipant(seat) : null,
      grant,
      iceServers: this.#iceServers.forUser(userId),
    };
  }

  /** Who sits in each of these channels (empty ones left out). */
  async voiceChannels(channelIds: readonly string[]): Promise<VoiceChannelState[]> {
    if (channelIds.length === 0) return [];
    const seats = await this.#voice.seats(channelIds);
    return [...seats]
      .filter(([, list]) => list.length > 0)
      .map(([channelId, list]) => ({ channelId, participants: list.map(toParticipant) }));
  }

  /**
   * Mutes, roles or overrides of a community changed: each seat (of these
   * users, or all) is checked again. Whoever may no longer connect is removed;
   * the others' server mute follows their `speak` permission and member mute.
   */
  async accessChanged(serverId: string, userIds?: readonly string[]): Promise<void> {
    const channelIds = await this.#access.voiceChannelIdsOf(serverId);
    const seats = [...(await this.#voice.seats(channelIds)).values()].flat();
    for (const seat of seats.filter((candidate) => !userIds || userIds.includes(candidate.userId))) {
      let canSpeak: boolean;
      try {
        ({ canSpeak } = await this.#access.requireVoiceChannel(seat.userId, seat.channelId));
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        await this.memberRemoved(serverId, seat.userId);
        continue;
      }
      if (canSpeak !== seat.serverMuted) continue;
      const updated = await this.#voice.setServerMuted(serverId, seat.userId, !canSpeak);
      if (updated) this.#realtime.emit(audienceOf(updated.channelId), 'voice:state', toParticipant(updated));
    }
  }

  /** The user is no longer a member: their seat in the community's rooms goes, and their device is told. */
  async memberRemoved(serverId: string, userId: string): Promise<void> {
    const seat = await this.#voice.evict(serverId, userId);
    if (!seat) return;
    this.#localOwners.delete(seat.connectionId);
    this.#announceLeft(seat, 'removed');
    this.#realtime.emit(rooms.connection(seat.connectionId), 'voice:released', { reason: 'removed' });
    this.#announceOwner(userId, { clientInstanceId: null, channelId: null });
  }

  /** Channels were deleted: everyone seated in them is removed. */
  async channelsClosed(channelIds: readonly string[]): Promise<void> {
    const seats = await this.#voice.seats(channelIds);
    for (const seat of [...seats.values()].flat()) await this.memberRemoved(seat.serverId, seat.userId);
  }

  /** Removes what a dead (or departing) node held and announces it. Returns the seats freed. */
  async removeNode(nodeId: string): Promise<number> {
    const { seats, owners } = await this.#voice.removeNode(nodeId);
    for (const seat of seats) this.#announceLeft(seat, 'node_lost');
    for (const owner of owners) this.#announceOwner(owner.userId, { clientInstanceId: null, channelId: null });
    return seats.length;
  }

  /** This pod was presumed dead and its voice entries removed: its owning connections are told so. */
  async recover(): Promise<void> {
    for (const connectionId of this.#localOwners.keys()) {
      this.#realtime.emit(rooms.connection(connectionId), 'voice:released', { reason: 'node_lost' });
    }
    this.#localOwners.clear();
  }

  async #release(connection: VoiceConnection, reason: VoiceLeaveReason): Promise<boolean> {
    const { userId, connectionId } = connection;
    const { owned, seat } = await this.#voice.leave(userId, connectionId);
    this.#localOwners.delete(connectionId);
    if (!owned) return false;
    if (seat) this.#announceLeft(seat, reason);
    this.#announceOwner(userId, { clientInstanceId: null, channelId: null });
    return true;
  }

  async #updateSeat(connection: VoiceConnection, flags: Parameters<VoiceStore['update']>[2]): Promise<VoiceParticipant> {
    const seat = await this.#voice.update(connection.userId, connection.connectionId, flags);
    if (!seat) throw new AppError('not_voice_owner');
    const participant = toParticipant(seat);
    this.#realtime.emit(audienceOf(seat.channelId), 'voice:state', participant);
    return participant;
  }

  async #seatOf(userId: string): Promise<VoiceSeat | undefined> {
    const owner = await this.#voice.owner(userId);
    if (!owner?.channelId) return undefined;
    return (await this.#voice.seats([owner.channelId])).get(owner.channelId)?.find((seat) => seat.userId === userId);
  }

  #announceLeft(seat: VoiceSeat, reason: VoiceLeaveReason): void {
    const { serverId, channelId, userId } = seat;
    this.#realtime.removeConnectionFromRooms(seat.connectionId, [rooms.voice(channelId)]);
    this.#realtime.emit(audienceOf(channelId), 'voice:left', { serverId, channelId, userId, reason });
    this.#log.debug({ userId, channelId, reason }, 'left voice');
  }

  /** Tells all the user's devices which one owns voice now (the others show passive controls). */
  #announceOwner(userId: string, ownership: VoiceOwnership): void {
    this.#realtime.emit(rooms.user(userId), 'voice:owner', ownership);
  }

  async #grant(connection: VoiceConnection, seat: VoiceSeat): Promise<VoiceGrant> {
    const { userId, displayName, clientInstanceId } = connection;
    const roomId = roomIdOf(seat.serverId, seat.channelId);
    const token = await this.#tokens.issue({
      userId,
      displayName,
      serverId: seat.serverId,
      channelId: seat.channelId,
      roomId,
      clientInstanceId,
      permissions: seatPermissions(seat),
    });
    const urls = this.#settings.sfuUrls;
    return {
      room_id: roomId,
      join_token: token,
      sfu_url: urls[0]!,
      ...(urls.length > 1 ? { sfu_urls: [...urls] } : {}),
      timestamp: this.#clock.now().getTime(),
      ice_servers: this.#iceServers.forUser(userId),
    };
  }
}
