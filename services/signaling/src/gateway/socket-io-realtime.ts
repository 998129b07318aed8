import type { SessionEndReason } from '@parley/protocol';
import type { Realtime } from '../realtime/realtime.ts';
import { rooms } from '../realtime/rooms.ts';

/**
 * The part of a Socket.IO server, or of a Redis emitter, that room operations
 * need: both reach sockets on every pod through the adapter.
 */
export interface RoomOperator {
  in(room: string | string[]): {
    socketsJoin(room: string | string[]): void;
    disconnectSockets(close?: boolean): void;
    emit(event: 'session:ended', payload: { reason: SessionEndReason }): unknown;
  };
}

/** Room operations through the Socket.IO adapter, so they reach sockets on every pod. */
export class SocketIoRealtime implements Realtime {
  readonly #io: RoomOperator;

  constructor(io: RoomOperator) {
    this.#io = io;
  }

  addUserToRooms(userId: string, roomNames: string[]): void {
    this.#io.in(rooms.user(userId)).socketsJoin(roomNames);
  }

  endSessions(sessionIds: string[], reason: SessionEndReason): void {
    if (sessionIds.length === 0) return;
    const sessions = this.#io.in(sessionIds.map(rooms.session));
    // Published in this order on one Redis connection, so each pod delivers the notice before closing.
    sessions.emit('session:ended', { reason });
    sessions.disconnectSockets(true);
  }
}
