import type { Clock } from '../clock.ts';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { ChatService } from '../domain/chat/chat.service.ts';
import type { MessageActions } from '../domain/chat/message-actions.service.ts';
import type { CommunityService } from '../domain/communities/community.service.ts';
import type { MembershipService } from '../domain/communities/membership.service.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { accountHandlers } from './account.handlers.ts';
import { chatHandlers, type ChatLimiters } from './chat.handlers.ts';
import { announcePeerOnline, endAtExpiry, identityRooms, replaceOlderConnections } from './connection.ts';
import { bindHandlers } from './event-handler.ts';
import { authenticateHandshake, roomsToJoin } from './handshake.ts';
import { roomsRefresher } from './rooms-refresh.ts';
import { serverHandlers } from './server.handlers.ts';
import type { SocketIoRealtime } from './socket-io-realtime.ts';
import type { ParleyServer } from './socket-server.ts';

export interface GatewayDeps {
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  authenticator: Authenticator;
  communities: CommunityService;
  membership: MembershipService;
  realtime: SocketIoRealtime;
  chat: ChatService;
  messageActions: MessageActions;
  limiters: ChatLimiters & { accountSync: RateLimiter; serverJoin: RateLimiter };
  /** Proxy hops whose `X-Forwarded-For` is believed, for the client address. */
  trustProxyHops: number;
}

/** Authenticates every connection, puts it in its rooms and binds the event handlers. */
export function attachGateway(io: ParleyServer, deps: GatewayDeps): void {
  const log = deps.logger.child({ module: 'gateway' });
  const handlers = { ...accountHandlers(deps), ...chatHandlers(deps), ...serverHandlers(deps) };

  const refreshRooms = roomsRefresher(io, deps.communities, deps.logger);
  deps.realtime.onRefreshRooms((event) => void refreshRooms(event));
  io.on('rooms:refresh', (event) => void refreshRooms(event));

  io.use(authenticateHandshake(deps));

  io.on('connection', (socket) => {
    const { userId, clientInstanceId } = socket.data;
    replaceOlderConnections(socket);
    void socket.join([...identityRooms(socket), ...(roomsToJoin.get(socket) ?? [])]);
    roomsToJoin.delete(socket);
    bindHandlers(socket, handlers, deps);
    announcePeerOnline(socket);
    const cancelExpiry = endAtExpiry(socket, deps.clock.now().getTime());

    deps.metrics.socketConnections.inc();
    log.debug({ userId, clientInstanceId, socketId: socket.id }, 'connected');
    socket.once('disconnect', (reason) => {
      cancelExpiry();
      deps.metrics.socketConnections.dec();
      log.debug({ userId, clientInstanceId, socketId: socket.id, reason }, 'disconnected');
    });
  });
}
