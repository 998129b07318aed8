import type { Clock } from '../clock.ts';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { ChatService } from '../domain/chat/chat.service.ts';
import type { MessageActions } from '../domain/chat/message-actions.service.ts';
import type { ChannelAccess } from '../domain/communities/access/channel-access.ts';
import type { CommunityService } from '../domain/communities/community.service.ts';
import type { MembershipService } from '../domain/communities/membership/membership.service.ts';
import type { PresenceService } from '../domain/presence/presence.service.ts';
import type { RtcRelay } from '../domain/voice/rtc-relay.service.ts';
import type { VoiceService } from '../domain/voice/voice.service.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { RateLimitRule } from '../rate-limit/rate-limit-rule.ts';
import type { Realtime, RoomsRefresh, RoomsRefreshSource } from '../realtime/realtime.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { accountHandlers } from './account.handlers.ts';
import { chatHandlers, type ChatLimiters } from './chat.handlers.ts';
import { announcePeerOnline, ExpiryWatch, identityRooms, replaceOlderConnections } from './connection.ts';
import type { ConnectionAdmission } from './connection-admission.ts';
import { eventDispatcher } from './event-handler.ts';
import { releaseHandshakeRequests } from './handshake-request.ts';
import { presenceHandlers } from './presence.handlers.ts';
import { authenticateHandshake } from './handshake.ts';
import { roomsRefresher } from './rooms-refresh.ts';
import { serverHandlers, type ServerLimiters } from './server.handlers.ts';
import type { ParleyServer, ParleySocket } from './socket-server.ts';
import { voiceConnectionOf, voiceHandlers, type VoiceLimiters } from './voice.handlers.ts';

export interface GatewayDeps {
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  authenticator: Authenticator;
  communities: CommunityService;
  access: ChannelAccess;
  membership: MembershipService;
  realtime: Realtime & RoomsRefreshSource;
  chat: ChatService;
  messageActions: MessageActions;
  presence: PresenceService;
  voice: VoiceService;
  relay: RtcRelay;
  limiters: ChatLimiters & VoiceLimiters & ServerLimiters & { accountSync: RateLimiter; presence: RateLimiter };
  /** Decides which new connections may start, and how often one may try to authenticate. */
  admission: ConnectionAdmission;
  /** What each connection may ask of the pod, counted in memory. */
  connectionLimits: { eventRate: RateLimitRule; maxInFlight: number };
}

export interface Gateway {
  /** The client events it handles (every other name is answered as unknown). */
  readonly handledEvents: readonly string[];
  /** Resolves once the presence and voice bookkeeping of connections that already opened or closed has finished. */
  settle(): Promise<void>;
}

/** Authenticates every connection, puts it in its rooms and binds the event handlers. */
export function attachGateway(io: ParleyServer, deps: GatewayDeps): Gateway {
  const log = deps.logger.child({ module: 'gateway' });
  /** Presence and voice updates in flight: shutdown waits for them before closing Redis. */
  const inFlight = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  const handlers = {
    ...accountHandlers(deps),
    ...chatHandlers(deps),
    ...serverHandlers(deps),
    ...presenceHandlers(deps),
    ...voiceHandlers(deps),
  };

  // A rooms refresh means access changed too: forget it before recomputing the rooms.
  const refreshRooms = roomsRefresher(io, deps.access, deps.logger);
  // Inter-pod events arrive from Redis: a malformed one is ignored, never thrown into the adapter.
  const onRoomsRefresh = (event: RoomsRefresh) => {
    if (typeof event?.serverId !== 'string') return;
    deps.access.forgetServer(event.serverId);
    void refreshRooms(event);
  };
  deps.realtime.onRefreshRooms(onRoomsRefresh);
  io.on('rooms:refresh', onRoomsRefresh);
  deps.realtime.onAccessChanged((serverId) => deps.access.forgetServer(serverId));
  io.on('access:changed', (event) => {
    if (typeof event?.serverId === 'string') deps.access.forgetServer(event.serverId);
  });

  deps.admission.watch(io);
  const roomsToJoin = new WeakMap<ParleySocket, string[]>();
  io.use(authenticateHandshake({ ...deps, roomsToJoin }));

  /** A closed connection gives up its voice, then its presence; failures are retried on the next heartbeat. */
  async function leaveLiveState(socket: Parameters<typeof voiceConnectionOf>[0]): Promise<void> {
    const { userId } = socket.data;
    await deps.voice
      .disconnected(voiceConnectionOf(socket))
      .catch((error: unknown) => log.warn({ err: error, userId }, 'voice release failed; retrying'));
    await deps.presence
      .disconnected(userId, socket.id)
      .catch((error: unknown) => log.warn({ err: error, userId }, 'presence removal failed; retrying'));
  }

  // Nothing below keeps a closure, a timer or a listener of its own per connection: an idle one should cost little more than its sockets.
  const listenForEvents = eventDispatcher(handlers, deps);
  const releaseRequest = releaseHandshakeRequests(io);
  const expiry = new ExpiryWatch(() => deps.clock.now().getTime());
  function onDisconnect(this: ParleySocket, reason: string): void {
    const { userId, clientInstanceId } = this.data;
    expiry.forget(this);
    track(leaveLiveState(this));
    deps.metrics.socketConnections.dec();
    log.debug({ userId, clientInstanceId, socketId: this.id, reason }, 'disconnected');
  }

  io.on('connection', (socket) => {
    const { userId, clientInstanceId } = socket.data;
    releaseRequest(socket);
    replaceOlderConnections(socket);
    void socket.join([...identityRooms(socket), ...(roomsToJoin.get(socket) ?? [])]);
    roomsToJoin.delete(socket);
    listenForEvents(socket);
    announcePeerOnline(socket);
    expiry.watch(socket);
    track(deps.presence.connected(userId, socket.id).catch((error: unknown) => log.warn({ err: error, userId }, 'presence not recorded')));

    deps.metrics.socketConnections.inc();
    log.debug({ userId, clientInstanceId, socketId: socket.id }, 'connected');
    socket.on('disconnect', onDisconnect);
  });

  return {
    handledEvents: Object.keys(handlers),
    settle: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
