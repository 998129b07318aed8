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

/**
 * Closes each connection when the token it presented expires, saying so
 * first, with one timer for the pod rather than one (and its closures) per
 * connection: connections wait in one-second buckets, so one ends within a
 * second after its expiry, never before it.
 */
export class ExpiryWatch {
  readonly #now: () => number;
  readonly #buckets = new Map<number, Set<ParleySocket>>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  constructor(now: () => number) {
    this.#now = now;
  }

  watch(socket: ParleySocket): void {
    const at = bucketOf(socket.data.expiresAt);
    if (at - this.#now() > MAX_TIMER_MS) return;
    const bucket = this.#buckets.get(at);
    if (bucket) bucket.add(socket);
    else this.#buckets.set(at, new Set([socket]));
    if (at < this.#timerAt) this.#schedule(at);
  }

  forget(socket: ParleySocket): void {
    const at = bucketOf(socket.data.expiresAt);
    const bucket = this.#buckets.get(at);
    if (bucket?.delete(socket) && bucket.size === 0) this.#buckets.delete(at);
  }

  #schedule(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, at - this.#now()));
    this.#timer.unref();
  }

  #expire(): void {
    // The bucket this timer waited for is due, whatever the clock says.
    const now = Math.max(this.#now(), this.#timerAt);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    let next = Infinity;
    for (const [at, sockets] of this.#buckets) {
      if (at > now) {
        next = Math.min(next, at);
        continue;
      }
      this.#buckets.delete(at);
      for (const socket of sockets) endConnection(socket, 'expired');
    }
    if (next !== Infinity) this.#schedule(next);
  }
}

/** The end of the second in which `expiresAt` falls: the bucket a connection waits in. */
function bucketOf(expiresAt: number): number {
  return Math.ceil(expiresAt / 1000) * 1000;
}

function endConnection(socket: ParleySocket, reason: SessionEndReason): void {
  socket.emit('session:ended', { reason });
  socket.disconnect(true);
}
