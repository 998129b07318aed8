import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '@parley/protocol';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import type { Config } from '../config.ts';
import { isOriginAllowed } from '../origin-policy.ts';

export type ParleyServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ParleySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * The Socket.IO server, before any handler is attached (domain services need
 * it for room operations, and the gateway needs the domain services) and
 * before it is attached to the HTTP server (which must happen after the HTTP
 * app is, so that Socket.IO answers its own path first).
 * `Origin` is checked for the polling and the WebSocket transport alike.
 */
export function createSocketServer(config: Config, adapter?: ServerOptions['adapter']): ParleyServer {
  const allowlist = config.http.corsOrigins;
  return new Server({
    serveClient: false,
    maxHttpBufferSize: config.socket.maxPayloadBytes,
    connectTimeout: 10_000,
    cors: { origin: allowlist.length === 0 ? true : [...allowlist] },
    allowRequest: (req, callback) => {
      const allowed = isOriginAllowed(req.headers.origin, allowlist);
      callback(allowed ? null : 'origin_not_allowed', allowed);
    },
    ...(adapter ? { adapter } : {}),
  });
}
