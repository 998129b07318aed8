import type { SessionEndReason } from '@parley/protocol';

/**
 * What domain code may ask of the live connections, whichever pod holds them.
 * Implemented over Socket.IO rooms (gateway/socket-io-realtime.ts) in a pod,
 * and over the Redis emitter in the admin CLI.
 */
export interface Realtime {
  /** Adds every connection of the user, on every pod, to these rooms. */
  addUserToRooms(userId: string, roomNames: string[]): void;
  /** Tells every connection of these sessions, on every pod, why it ends, then closes it. */
  endSessions(sessionIds: string[], reason: SessionEndReason): void;
}
