import type { ServerToClientEvents, SessionEndReason } from '@parley/protocol';
import type { Audience, Realtime, RoomsRefresh, RoomsRefreshSource } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';

/**
 * The part of a Socket.IO server, or of a Redis emitter, that room operations
 * need: both reach sockets on every pod through the adapter.
 */
export interface RoomOperator {
  in(room: string | string[]): {
    socketsJoin(room: string | string[]): void;
    socketsLeave(room: string | string[]): void;
    disconnectSockets(close?: boolean): void;
    emit<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): unknown;
    except(room: string | string[]): {
      emit<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): unknown;
    };
  };
  /** Reaches the other pods (never this one). */
  serverSideEmit(event: 'rooms:refresh', payload: RoomsRefresh): unknown;
  serverSideEmit(event: 'access:changed', payload: { serverId: string }): unknown;
}

/** Room operations through the Socket.IO adapter, so they reach sockets on every pod. */
export class SocketIoRealtime implements Realtime, RoomsRefreshSource {
  readonly #io: RoomOperator;
  #refreshLocally: (event: RoomsRefresh) => void = () => {};
  #forgetAccessLocally: (serverId: string) => void = () => {};

  constructor(io: RoomOperator) {
    this.#io = io;
  }

  /** Set by the gateway: how this pod refreshes its own sockets' rooms (other pods hear `rooms:refresh`). */
  onRefreshRooms(listener: (event: RoomsRefresh) => void): void {
    this.#refreshLocally = listener;
  }

  /** Set by the gateway: how this pod forgets access it remembers (other pods hear `access:changed`). */
  onAccessChanged(listener: (serverId: string) => void): void {
    this.#forgetAccessLocally = listener;
  }

  addUserToRooms(userId: string, roomNames: string[]): void {
    if (roomNames.length > 0) this.#io.in(rooms.user(userId)).socketsJoin(roomNames);
  }

  removeUserFromRooms(userId: string, roomNames: string[]): void {
    if (roomNames.length > 0) this.#io.in(rooms.user(userId)).socketsLeave(roomNames);
  }

  addConnectionToRooms(connectionId: string, roomNames: string[]): void {
    if (roomNames.length > 0) this.#io.in(rooms.connection(connectionId)).socketsJoin(roomNames);
  }

  removeConnectionFromRooms(connectionId: string, roomNames: string[]): void {
    if (roomNames.length > 0) this.#io.in(rooms.connection(connectionId)).socketsLeave(roomNames);
  }

  emit<E extends keyof ServerToClientEvents>(audience: Audience, event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    if (typeof audience === 'string' || Array.isArray(audience)) this.#io.in(audience).emit(event, ...args);
    else this.#io.in(audience.to).except(audience.except).emit(event, ...args);
  }

  endSessions(sessionIds: string[], reason: SessionEndReason): void {
    if (sessionIds.length === 0) return;
    const sessions = this.#io.in(sessionIds.map(rooms.session));
    // Published in this order on one Redis connection, so each pod delivers the notice before closing.
    sessions.emit('session:ended', { reason });
    sessions.disconnectSockets(true);
  }

  refreshRooms(serverId: string, userIds?: string[]): void {
    const event = userIds ? { serverId, userIds } : { serverId };
    this.#io.serverSideEmit('rooms:refresh', event);
    this.#refreshLocally(event);
  }

  accessChanged(serverId: string): void {
    this.#io.serverSideEmit('access:changed', { serverId });
    this.#forgetAccessLocally(serverId);
  }
}
