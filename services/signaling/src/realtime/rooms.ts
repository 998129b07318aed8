import { createHash } from 'node:crypto';

/**
 * Socket.IO room names: the only place they are built. A room emit reaches
 * every socket in it on every pod.
 */
export const rooms = {
  /** Every connection of one user. */
  user: (userId: string) => `user:${userId}`,
  /** Every connection opened with one session token. */
  session: (sessionId: string) => `session:${sessionId}`,
  /** One client instance (tab, app install) of one user. */
  device: (userId: string, clientInstanceId: string) => `device:${userId}:${clientInstanceId}`,
  /**
   * One (user, connection scope, client instance) tuple: a new connection with
   * the same tuple replaces the old one. The scope is a client-chosen URL, so
   * it enters the name only as a short hash.
   */
  clientConnection: (userId: string, connectionScope: string | null, clientInstanceId: string) =>
    `connection:${userId}:${scopeHash(connectionScope)}:${clientInstanceId}`,
  /** One connection: Socket.IO puts every socket in a room named by its id, reachable from every pod. */
  connection: (socketId: string) => socketId,
  /** Members of a community. */
  server: (serverId: string) => `server:${serverId}`,
  /** Readers of a text channel. */
  channel: (channelId: string) => `channel:${channelId}`,
  /** Participants of a voice channel. */
  voice: (channelId: string) => `voice:${channelId}`,
} as const;

function scopeHash(connectionScope: string | null): string {
  return connectionScope === null ? '-' : createHash('sha256').update(connectionScope).digest('hex').slice(0, 16);
}
