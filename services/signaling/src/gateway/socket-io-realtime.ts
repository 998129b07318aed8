import type { Realtime } from '../realtime/realtime.ts';
import { rooms } from '../realtime/rooms.ts';
import type { ParleyServer } from './socket-server.ts';

/** Room operations through the Socket.IO adapter, so they reach sockets on every pod. */
export class SocketIoRealtime implements Realtime {
  readonly #io: ParleyServer;

  constructor(io: ParleyServer) {
    this.#io = io;
  }

  addUserToRooms(userId: string, roomNames: string[]): void {
    this.#io.in(rooms.user(userId)).socketsJoin(roomNames);
  }
}
