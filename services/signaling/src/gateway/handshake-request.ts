import { ServerResponse, type IncomingMessage } from 'node:http';
import type { ParleyServer, ParleySocket } from './socket-server.ts';

const nothing = Object.freeze({});

/**
 * Socket.IO's memory advice for many idle connections: once a connection has
 * authenticated, nothing reads the HTTP request that opened it (the handshake
 * copies the client address into `socket.data`), so the pod lets go of it and
 * of the handshake's copies of its headers, query and `auth` (the token).
 * Engine.IO's stand-in response to a WebSocket upgrade also holds the request
 * (through a `close` listener on the TCP socket, for the connection's life); it
 * is told to forget it once the upgrade's headers are written, after which it
 * never reads it again. Returns the function that releases one socket's request.
 */
export function releaseHandshakeRequests(io: ParleyServer): (socket: ParleySocket) => void {
  const upgradeResponses = new WeakMap<IncomingMessage, { req?: unknown }>();
  io.engine.use((request: IncomingMessage, response: unknown, next: () => void) => {
    if (!(response instanceof ServerResponse) && typeof response === 'object' && response !== null && 'req' in response) {
      upgradeResponses.set(request, response);
    }
    next();
  });
  io.engine.on('headers', (_headers: unknown, request: IncomingMessage) => {
    const response = upgradeResponses.get(request);
    if (response) response.req = undefined;
  });

  return (socket) => {
    (socket.conn as { request: IncomingMessage | null }).request = null;
    socket.handshake.headers = nothing;
    socket.handshake.query = nothing;
    socket.handshake.auth = nothing;
  };
}
