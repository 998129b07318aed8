import type { SessionEndReason } from '@parley/protocol';
import { rooms } from '../realtime/rooms.ts';
import type { ParleySocket } from './socket-server.ts';

/** setTimeout cannot wait longer than this (about 24.8 days); later expiries are checked on reconnect. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The rooms every connection joins: its user, session, device and (user, scope, instance) tuple. */
export function identityRooms(socket: ParleySocket): string[] {
  const { userId, sessionId, clientInstanceId, connectionScope } = socket.data;
  return [
    rooms.user(userId),
    ...(sessionId ? [rooms.session(sessionId)] : []),
    rooms.device(userId, clientInstanceId),
    rooms.clientConnection(userId, connectionScope, clientInstanceId),
  ];
}

/**
 * Stale reconnect hygiene: an older connection with the same (user, scope,
 * client instance), on whichever pod, is told it was replaced and closed.
 * The user's other devices are untouched.
 */
export function replaceOlderConnections(socket: ParleySocket): void {
  const { userId, connectionScope, clientInstanceId } = socket.data;
  const older = socket.broadcast.in(rooms.clientConnection(userId, connectionScope, clientInstanceId));
  older.emit('session:ended', { reason: 'replaced' });
  older.disconnectSockets(true);
}

/** Tells the user's other connections, on every pod, that this device came online. */
export function announcePeerOnline(socket: ParleySocket): void {
  const { userId, connectionScope, clientInstanceId } = socket.data;
  socket
    .to(rooms.user(userId))
    .except(rooms.clientConnection(userId, connectionScope, clientInstanceId))
    .emit('account_sync_peer_online', { clientInstanceId, fromUserId: userId });
}

/** Closes the connection when the token it presented expires. Returns the cancel function. */
export function endAtExpiry(socket: ParleySocket, now: number): () => void {
  const remaining = socket.data.expiresAt - now;
  if (remaining > MAX_TIMER_MS) return () => {};
  const timer = setTimeout(() => endConnection(socket, 'expired'), Math.max(0, remaining));
  timer.unref();
  return () => clearTimeout(timer);
}

function endConnection(socket: ParleySocket, reason: SessionEndReason): void {
  socket.emit('session:ended', { reason });
  socket.disconnect(true);
}
