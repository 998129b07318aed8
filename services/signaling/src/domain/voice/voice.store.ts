/** One user's place in a voice room, as stored (the public shape leaves out where the connection lives). */
export interface VoiceSeat {
  userId: string;
  serverId: string;
  channelId: string;
  /** The owning connection: its client instance, Socket.IO socket id, and the node holding it. */
  clientInstanceId: string;
  connectionId: string;
  nodeId: string;
  streamId: string | null;
  isMuted: boolean;
  isDeafened: boolean;
  isAFK: boolean;
  /** Muted by a moderator or without `speak`: `isMuted` is forced true. */
  serverMuted: boolean;
  /** Epoch ms. */
  joinedAt: number;
}

/** The connection that owns a user's voice: the relay target of their WebRTC signals. */
export interface VoiceOwner {
  userId: string;
  clientInstanceId: string;
  connectionId: string;
  nodeId: string;
  /** The voice room the owner sits in, if any. */
  channelId: string | null;
}

export type VoiceJoinResult =
  /** `moved` is the seat left in another room, when the user switched channels. */
  | { status: 'joined'; seat: VoiceSeat; moved: VoiceSeat | null; alreadySeated: boolean }
  | { status: 'full' }
  /** Another (live) connection owns the user's voice. */
  | { status: 'owned_elsewhere'; owner: VoiceOwner };

/** The flags a participant sets; `isMuted` is forced true while server-muted. */
export interface VoiceFlags {
  streamId?: string | null;
  isMuted?: boolean;
  isDeafened?: boolean;
  isAFK?: boolean;
}

/**
 * Voice rooms and voice ownership, shared by every pod. One connection per
 * user owns voice (`VoiceOwner`); a user has at most one seat, in one room,
 * held by the owning connection. Every method is atomic across pods and
 * returns what it changed, so exactly one caller announces each change.
 * Entries whose node's heartbeat has lapsed count as gone.
 */
export interface VoiceStore {
  /**
   * Seats the user in a room from this connection (of this node) and makes it
   * the owner, unless the room already holds `capacity` other users or another
   * live connection owns the user's voice. A seat in another room moves.
   */
  join(
    seat: Pick<VoiceSeat, 'userId' | 'serverId' | 'channelId' | 'clientInstanceId' | 'connectionId' | 'serverMuted'>,
    capacity: number,
  ): Promise<VoiceJoinResult>;
  /** Updates the seat held by this connection; null when the connection does not own a seat. */
  update(userId: string, connectionId: string, flags: VoiceFlags): Promise<VoiceSeat | null>;
  /**
   * Releases the user's voice if this connection owns it: the ownership and
   * the seat (returned, or null when it had none). `owned` is false when the
   * connection was not the owner (nothing changed).
   */
  leave(userId: string, connectionId: string): Promise<{ owned: boolean; seat: VoiceSeat | null }>;
  /**
   * Makes this connection (of this node) the user's voice owner; a seat
   * moves with it. Returns the previous owner (null when none, or when it was this connection).
   */
  takeover(userId: string, connectionId: string, clientInstanceId: string): Promise<{ previous: VoiceOwner | null; seat: VoiceSeat | null }>;
  /** The live owner of a user's voice. */
  owner(userId: string): Promise<VoiceOwner | null>;
  /** Sets the server mute of the user's seat in this community's rooms; null when not seated there. */
  setServerMuted(serverId: string, userId: string, serverMuted: boolean): Promise<VoiceSeat | null>;
  /** Removes the user's seat in this community's rooms (kick, ban, leave), releasing their voice. */
  evict(serverId: string, userId: string): Promise<VoiceSeat | null>;
  /** The seats of these rooms, by channel id, in join order. */
  seats(channelIds: readonly string[]): Promise<Map<string, VoiceSeat[]>>;
  /** Forgets everything a node held: the seats left and the owners released. */
  removeNode(nodeId: string): Promise<{ seats: VoiceSeat[]; owners: VoiceOwner[] }>;
}
