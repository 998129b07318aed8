import { systemClock } from '../../clock.ts';
import type { NodeIdentity } from '../../cluster/node-registry.ts';
import type { VoiceFlags, VoiceJoinResult, VoiceOwner, VoiceSeat, VoiceStore } from '../../domain/voice/voice.store.ts';

/**
 * In-process voice rooms: the embedded mode's store. One process, so every
 * node it knows is alive. Returns copies: callers never hold the stored seats.
 */
export class MemoryVoiceStore implements VoiceStore {
  readonly #identity: NodeIdentity;
  readonly #owners = new Map<string, VoiceOwner>();
  /** channelId → userId → seat, in join order. */
  readonly #rooms = new Map<string, Map<string, VoiceSeat>>();

  constructor(identity: NodeIdentity) {
    this.#identity = identity;
  }

  async join(
    request: Pick<VoiceSeat, 'userId' | 'serverId' | 'channelId' | 'clientInstanceId' | 'connectionId' | 'serverMuted'>,
    capacity: number,
  ): Promise<VoiceJoinResult> {
    const { userId, channelId, connectionId } = request;
    const owner = this.#owners.get(userId);
    if (owner && owner.connectionId !== connectionId) return { status: 'owned_elsewhere', owner: { ...owner } };
    const nodeId = this.#identity.current;
    const current = this.#seatOf(owner);
    if (owner && current && owner.channelId === channelId) {
      current.serverMuted = request.serverMuted;
      if (request.serverMuted) current.isMuted = true;
      owner.nodeId = nodeId;
      current.nodeId = nodeId;
      return { status: 'joined', seat: { ...current }, moved: null, alreadySeated: true };
    }
    const room = this.#rooms.get(channelId) ?? new Map<string, VoiceSeat>();
    const others = room.size - (room.has(userId) ? 1 : 0);
    if (others >= capacity) return { status: 'full' };
    if (current) this.#dropSeat(current);
    const seat: VoiceSeat = {
      userId,
      serverId: request.serverId,
      channelId,
      clientInstanceId: request.clientInstanceId,
      connectionId,
      nodeId,
      streamId: null,
      isMuted: request.serverMuted,
      isDeafened: false,
      isAFK: false,
      serverMuted: request.serverMuted,
      joinedAt: systemClock.now().getTime(),
    };
    room.set(userId, seat);
    this.#rooms.set(channelId, room);
    this.#owners.set(userId, { userId, clientInstanceId: request.clientInstanceId, connectionId, nodeId, channelId });
    return { status: 'joined', seat: { ...seat }, moved: current ? { ...current } : null, alreadySeated: false };
  }

  async update(userId: string, connectionId: string, flags: VoiceFlags): Promise<VoiceSeat | null> {
    const owner = this.#owners.get(userId);
    const seat = owner?.connectionId === connectionId ? this.#seatOf(owner) : undefined;
    if (!seat) return null;
    if (flags.streamId !== undefined) seat.streamId = flags.streamId;
    if (flags.isMuted !== undefined) seat.isMuted = flags.isMuted;
    if (flags.isDeafened !== undefined) seat.isDeafened = flags.isDeafened;
    if (flags.isAFK !== undefined) seat.isAFK = flags.isAFK;
    if (seat.serverMuted) seat.isMuted = true;
    return { ...seat };
  }

  async leave(userId: string, connectionId: string): Promise<{ owned: boolean; seat: VoiceSeat | null }> {
    const owner = this.#owners.get(userId);
    if (owner?.connectionId !== connectionId) return { owned: false, seat: null };
    return { owned: true, seat: this.#release(owner) };
  }

  async takeover(
    userId: string,
    connectionId: string,
    clientInstanceId: string,
  ): Promise<{ previous: VoiceOwner | null; seat: VoiceSeat | null }> {
    const owner = this.#owners.get(userId);
    const previous = owner && owner.connectionId !== connectionId ? { ...owner } : null;
    const nodeId = this.#identity.current;
    const seat = this.#seatOf(owner);
    if (seat) Object.assign(seat, { connectionId, clientInstanceId, nodeId });
    this.#owners.set(userId, { userId, clientInstanceId, connectionId, nodeId, channelId: seat?.channelId ?? null });
    return { previous, seat: seat ? { ...seat } : null };
  }

  async owner(userId: string): Promise<VoiceOwner | null> {
    const owner = this.#owners.get(userId);
    return owner ? { ...owner } : null;
  }

  async setServerMuted(serverId: string, userId: string, serverMuted: boolean): Promise<VoiceSeat | null> {
    const seat = this.#seatOf(this.#owners.get(userId));
    if (seat?.serverId !== serverId) return null;
    seat.serverMuted = serverMuted;
    if (serverMuted) seat.isMuted = true;
    return { ...seat };
  }

  async evict(serverId: string, userId: string): Promise<VoiceSeat | null> {
    const owner = this.#owners.get(userId);
    if (!owner || this.#seatOf(owner)?.serverId !== serverId) return null;
    return this.#release(owner);
  }

  async seats(channelIds: readonly string[]): Promise<Map<string, VoiceSeat[]>> {
    const seatsOf = (channelId: string) => [...(this.#rooms.get(channelId)?.values() ?? [])].map((seat) => ({ ...seat }));
    return new Map(channelIds.map((channelId) => [channelId, seatsOf(channelId)]));
  }

  async removeNode(nodeId: string): Promise<{ seats: VoiceSeat[]; owners: VoiceOwner[] }> {
    const seats: VoiceSeat[] = [];
    const owners: VoiceOwner[] = [];
    for (const owner of this.#owners.values()) {
      if (owner.nodeId !== nodeId) continue;
      owners.push({ ...owner });
      const seat = this.#release(owner);
      if (seat) seats.push(seat);
    }
    return { seats, owners };
  }

  #seatOf(owner: VoiceOwner | undefined): VoiceSeat | undefined {
    return owner?.channelId ? this.#rooms.get(owner.channelId)?.get(owner.userId) : undefined;
  }

  #dropSeat(seat: VoiceSeat): void {
    const room = this.#rooms.get(seat.channelId);
    room?.delete(seat.userId);
    if (room?.size === 0) this.#rooms.delete(seat.channelId);
  }

  /** Removes the owner and its seat; the seat, if there was one. */
  #release(owner: VoiceOwner): VoiceSeat | null {
    this.#owners.delete(owner.userId);
    const seat = this.#seatOf(owner);
    if (!seat) return null;
    this.#dropSeat(seat);
    return { ...seat };
  }
}
