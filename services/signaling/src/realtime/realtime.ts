import type { InterServerEvents, ServerToClientEvents, SessionEndReason } from '@parley/protocol';

/** A community's channel rooms to recompute: for these users' connections, or all its members'. */
export type RoomsRefresh = Parameters<InterServerEvents['rooms:refresh']>[0];

/** Who hears an emit: everyone in these rooms, on every pod, but those also in `except`. */
export type Audience = string | string[] | { to: string | string[]; except: string | string[] };

/**
 * What domain code may ask of the live connections, whichever pod holds them.
 * Implemented over Socket.IO rooms (adapters/socket-io/realtime.ts) in a pod,
 * and over the Redis emitter in the admin CLI.
 */
export interface Realtime {
  /** Adds every connection of the user, on every pod, to these rooms. */
  addUserToRooms(userId: string, roomNames: string[]): void;
  /** Takes every connection of the user, on every pod, out of these rooms. */
  removeUserFromRooms(userId: string, roomNames: string[]): void;
  /** Adds one connection (a Socket.IO socket id), on whichever pod holds it, to these rooms. */
  addConnectionToRooms(connectionId: string, roomNames: string[]): void;
  /** Takes one connection, on whichever pod holds it, out of these rooms. */
  removeConnectionFromRooms(connectionId: string, roomNames: string[]): void;
  /** Emits to everyone in the audience, on every pod. */
  emit<E extends keyof ServerToClientEvents>(
    audience: Audience,
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  /** Tells every connection of these sessions, on every pod, why it ends, then closes it. */
  endSessions(sessionIds: string[], reason: SessionEndReason): void;
  /**
   * Roles or channel overrides of a community changed: every pod recomputes
   * the channel rooms of its connections of these users (all members when omitted).
   */
  refreshRooms(serverId: string, userIds?: string[]): void;
  /**
   * Memberships, mutes or channel overrides of a community changed (a
   * `refreshRooms` says so too): every pod forgets the access it remembers for it.
   */
  accessChanged(serverId: string): void;
}

/** How a pod hears what `Realtime.refreshRooms` and `Realtime.accessChanged` asked of this pod itself. */
export interface RoomsRefreshSource {
  onRefreshRooms(listener: (event: RoomsRefresh) => void): void;
  onAccessChanged(listener: (serverId: string) => void): void;
}
