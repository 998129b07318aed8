import type { AccountService } from '../domain/accounts/account.service.ts';
import type { ChatService } from '../domain/chat/chat.service.ts';
import type { CommunityService } from '../domain/communities/community.service.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { rooms } from '../realtime/rooms.ts';
import { chatHandlers } from './chat.handlers.ts';
import { bindHandlers } from './event-handler.ts';
import { authenticateHandshake, roomsToJoin } from './handshake.ts';
import type { ParleyServer } from './socket-server.ts';

export interface GatewayDeps {
  logger: Logger;
  metrics: Metrics;
  accounts: AccountService;
  communities: CommunityService;
  chat: ChatService;
  limiters: { chatSend: RateLimiter; chatFetch: RateLimiter };
}

/** Authenticates every connection, puts it in its rooms and binds the event handlers. */
export function attachGateway(io: ParleyServer, deps: GatewayDeps): void {
  const log = deps.logger.child({ module: 'gateway' });
  const handlers = { ...chatHandlers(deps) };

  io.use(authenticateHandshake(deps));

  io.on('connection', (socket) => {
    const { userId, sessionId, clientInstanceId } = socket.data;
    void socket.join([
      rooms.user(userId),
      rooms.session(sessionId),
      rooms.device(userId, clientInstanceId),
      ...(roomsToJoin.get(socket) ?? []),
    ]);
    roomsToJoin.delete(socket);
    bindHandlers(socket, handlers, deps);

    deps.metrics.socketConnections.inc();
    log.debug({ userId, clientInstanceId, socketId: socket.id }, 'connected');
    socket.once('disconnect', (reason) => {
      deps.metrics.socketConnections.dec();
      log.debug({ userId, clientInstanceId, socketId: socket.id, reason }, 'disconnected');
    });
  });
}
