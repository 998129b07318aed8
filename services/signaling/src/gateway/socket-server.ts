import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '@parley/protocol';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import type { Config } from '../config.ts';

/** A connection that has not authenticated this long after its Engine.IO handshake is closed. */
export const AUTHENTICATION_DEADLINE_MS = 10_000;

export type ParleyServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ParleySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * The Socket.IO server, before any handler is attached (domain services need
 * it for room operations, and the gateway needs the domain services) and
 * before it is attached to the HTTP server (which must happen after the HTTP
 * app is, so that Socket.IO answers its own path first).
 * Who may connect at all (Origin, rates, unauthenticated connections) is
 * decided in front of it: see `guardSocketIoEntry`.
 */
export function createSocketServer(config: Config, adapter?: ServerOptions['adapter']): ParleyServer {
  const allowlist = config.http.corsOrigins;
  return new Server({
    serveClient: false,
    maxHttpBufferSize: config.socket.maxPayloadBytes,
    // Engine.IO's default, said out loud: per-message deflate would keep a zlib context per connection.
    perMessageDeflate: false,
    connectTimeout: AUTHENTICATION_DEADLINE_MS,
    cors: { origin: allowlist.length === 0 ? true : [...allowlist] },
    ...(adapter ? { adapter } : {}),
  });
}
