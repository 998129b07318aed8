/**
 * What domain code may ask of the live connections, whichever pod holds them.
 * Implemented over Socket.IO rooms (see gateway/socket-io-realtime.ts).
 */
export interface Realtime {
  /** Adds every connection of the user, on every pod, to these rooms. */
  addUserToRooms(userId: string, roomNames: string[]): void;
}
