import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BoundedPasswordHasher } from './adapters/bounded-password-hasher.ts';
import { MemoryPresenceStore } from './adapters/memory/presence-store.ts';
import { MemoryVoiceStore } from './adapters/memory/voice-store.ts';
import { RedisPresenceStore } from './adapters/redis/presence-store.ts';
import { RedisVoiceStore } from './adapters/redis/voice-store.ts';
import { connectDatabase } from './adapters/database.ts';
import { JoseOidcVerifier } from './adapters/jose/oidc-verifier.ts';
import { Argon2PasswordHasher } from './adapters/argon2/password-hasher.ts';
import { connectRedis, type RedisConnections } from './adapters/redis/connections.ts';
import { createSocketIoRedisAdapter } from './adapters/redis/socket-io-adapter.ts';
import { systemClock } from './clock.ts';
import { NodeIncarnation } from './cluster/node-identity.ts';
import { NodeLiveness } from './cluster/node-liveness.ts';
import { MemoryNodeRegistry } from './adapters/memory/node-registry.ts';
import { RedisNodeRegistry } from './adapters/redis/node-registry.ts';
import type { Config } from './config.ts';
import { AccountService } from './domain/accounts/account.service.ts';
import { Authenticator } from './domain/accounts/authenticator.ts';
import { BlockService } from './domain/accounts/block.service.ts';
import { DeviceTokenService } from './domain/accounts/device-token.service.ts';
import { ChatService } from './domain/chat/chat.service.ts';
import { MessageActions } from './domain/chat/message-actions.service.ts';
import { ChannelAdminService } from './domain/communities/channels/channel-admin.service.ts';
import { ChannelAccess } from './domain/communities/access/channel-access.ts';
import { AccessCache } from './domain/communities/access/access-cache.ts';
import { MemoryReclaim, memoryReducingGc } from './lifecycle/memory-reclaim.ts';
import { CommunityService } from './domain/communities/community.service.ts';
import { InviteService } from './domain/communities/membership/invite.service.ts';
import { JoinRequestService } from './domain/communities/membership/join-request.service.ts';
import { MembershipService } from './domain/communities/membership/membership.service.ts';
import { ModerationService } from './domain/communities/moderation/moderation.service.ts';
import { RoleService } from './domain/communities/roles/role.service.ts';
import { ServerSettingsService } from './domain/communities/server-settings.service.ts';
import { ActivityRecorder } from './domain/discovery/activity-recorder.ts';
import { DiscoveryService } from './domain/discovery/discovery.service.ts';
import { PresenceService } from './domain/presence/presence.service.ts';
import { Store } from './domain/store.ts';
import { CommunityLiveState } from './domain/voice/community-live-state.ts';
import { IceServerProvider } from './domain/voice/ice-servers.ts';
import { JoinTokenIssuer } from './domain/voice/join-token.ts';
import { KeyRing } from './domain/voice/key-ring.ts';
import { KeySealer } from './domain/voice/key-sealer.ts';
import { RtcRelay } from './domain/voice/rtc-relay.service.ts';
import { VoiceService } from './domain/voice/voice.service.ts';
import { ConnectionAdmission } from './gateway/connection-admission.ts';
import { attachGateway } from './gateway/gateway.ts';
import { guardSocketIoEntry } from './gateway/socket-entry.ts';
import { SocketIoRealtime } from './adapters/socket-io/realtime.ts';
import { createSocketServer, type ParleyServer } from './gateway/socket-server.ts';
import { startMedia } from './media.ts';
import { createHttpApp } from './http/app.ts';
import { answerClientErrors } from './http/client-errors.ts';
import { Readiness } from './lifecycle/readiness.ts';
import { ShutdownRegistry } from './lifecycle/shutdown.ts';
import type { Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { MemoryAttemptGuard } from './adapters/memory/attempt-guard.ts';
import { RedisAttemptGuard } from './adapters/redis/attempt-guard.ts';
import { MemoryRateLimiterFactory } from './adapters/memory/rate-limiter.ts';
import { RedisRateLimiterFactory } from './adapters/redis/rate-limiter.ts';
import { ReconciledRateLimiterFactory } from './adapters/redis/reconciled-rate-limiter.ts';
import { RedisCircuit } from './adapters/redis/circuit.ts';

/** After Redis failed a rate-limit command, how long pods count on their own before trying Redis again. */
const REDIS_RETRY_AFTER_FAILURE_MS = 5000;

export interface RunningNode {
  readonly port: number;
  readonly url: string;
  readonly io: ParleyServer;
  /** The Socket.IO events the gateway handles. */
  readonly handledEvents: readonly string[];
  /** Drains and closes everything; resolves when the node has stopped. */
  shutdown(reason: string): Promise<void>;
}

/**
 * Builds one signaling node, in this order: adapters, domain services,
 * transports. Embedded or cluster is decided by the config alone; nothing
 * below this function knows which.
 */
export async function startNode(config: Config, logger: Logger): Promise<RunningNode> {
  const shutdown = new ShutdownRegistry(logger);
  const readiness = new Readiness();
  const metrics = createMetrics();

  // Adapters
  const database = await connectDatabase(config, logger);
  readiness.addCheck('database', () => database.ping());
  readiness.addCheck('database_connect', () => database.canConnect());
  const redis = config.redis ? connectRedis({ ...config.redis, nodeId: config.nodeId }, logger) : undefined;
  // Every pod shares Redis: its absence degrades a pod (no cross-pod fan-out) but must not take all of them out.
  if (redis) readiness.addCheck('redis', () => redis.ping(), { required: false });
  const localLimiters = new MemoryRateLimiterFactory();
  const limiterCircuit = redis
    ? new RedisCircuit({
        redis: redis.client,
        openMs: REDIS_RETRY_AFTER_FAILURE_MS,
        logger,
        onOpen: () => metrics.rateLimitFallbacks.inc(),
      })
    : undefined;
  // Exact, one round trip per point: HTTP, and whatever guards passwords, invite codes or tokens.
  const rateLimiters =
    redis && limiterCircuit
      ? new RedisRateLimiterFactory({ redis: redis.client, keyPrefix: redis.keyPrefix, circuit: limiterCircuit })
      : localLimiters;
  // Socket events: decided in memory, reconciled with Redis every sync interval (see docs/operations.md).
  const reconciledLimiters =
    redis && limiterCircuit
      ? new ReconciledRateLimiterFactory({
          redis: redis.client,
          keyPrefix: redis.keyPrefix,
          circuit: limiterCircuit,
          syncIntervalMs: config.rateLimitSyncIntervalMs,
        })
      : undefined;
  const eventLimiters = reconciledLimiters ?? localLimiters;
  const io = createSocketServer(
    config,
    redis
      ? createSocketIoRedisAdapter({
          pub: redis.pub,
          sub: redis.sub,
          key: `${redis.keyPrefix}socket.io`,
          logger,
          onDropped: (reason) => metrics.fanoutMessagesDropped.inc({ reason }),
        })
      : undefined,
  );

  const hasher = new BoundedPasswordHasher(new Argon2PasswordHasher(), {
    concurrency: config.auth.passwordHashConcurrency,
    queueMax: config.auth.passwordHashQueueMax,
    onWaiting: (waiting) => metrics.passwordHashesWaiting.set(waiting),
    onRejected: () => metrics.passwordHashesRejected.inc(),
  });
  const oidc = config.auth.oidc ? new JoseOidcVerifier(config.auth.oidc, logger) : undefined;
  const realtime = new SocketIoRealtime(io);
  const clock = systemClock;
  const joinAttempts = redis
    ? new RedisAttemptGuard({
        redis: redis.client,
        keyPrefix: redis.keyPrefix,
        name: 'server-join',
        policy: config.communities.joinAttempts,
        clock,
        logger,
      })
    : new MemoryAttemptGuard(config.communities.joinAttempts, clock);
  const identity = new NodeIncarnation(config.nodeId);
  const redisState = redis && { redis: redis.client, keyPrefix: redis.keyPrefix, identity };
  const presenceStore = redisState ? new RedisPresenceStore(redisState) : new MemoryPresenceStore(identity);
  const voiceStore = redisState ? new RedisVoiceStore(redisState) : new MemoryVoiceStore(identity);
  const nodeRegistry = redisState
    ? new RedisNodeRegistry({ ...redisState, ttlMs: config.heartbeat.ttlMs })
    : new MemoryNodeRegistry();

  // Domain
  const store = new Store(database.db);
  const keyRing = new KeyRing({
    store,
    clock,
    rotationMs: config.voice.token.keyRotationMs,
    tokenTtlSeconds: config.voice.token.ttlSeconds,
    logger,
    sealer: new KeySealer(config.voice.token.keyEncryptionSecret),
  });
  await keyRing.start();
  const blocks = new BlockService({ store });
  const authenticator = new Authenticator({ store, clock, mode: config.auth.mode, oidc });
  const accounts = new AccountService({
    store,
    hasher,
    clock,
    realtime,
    sessionTtlMs: config.auth.sessionTokenTtlMs,
    mode: config.auth.mode,
  });
  const deviceTokens = new DeviceTokenService({ store });
  const activity = new ActivityRecorder({ store, clock, logger });
  const communities = new CommunityService({ store, realtime });
  const access = new ChannelAccess({ store, clock, cache: accessCacheOf(config, redis) });
  // Changes published while the subscription was down were missed: forget what was read before.
  redis?.sub.on('ready', () => access.forgetAll());
  if (config.communities.defaultServerName) await communities.ensureDefaultServer(config.communities.defaultServerName);
  const presence = new PresenceService({ store, presence: presenceStore, realtime, logger });
  const voice = new VoiceService({
    access,
    voice: voiceStore,
    realtime,
    tokens: new JoinTokenIssuer({
      keys: keyRing,
      clock,
      issuer: config.voice.token.issuer,
      audience: config.voice.token.audience,
      ttlSeconds: config.voice.token.ttlSeconds,
    }),
    iceServers: new IceServerProvider({ stunServers: config.voice.stunServers, turn: config.voice.turn, clock }),
    clock,
    settings: { maxUsers: config.voice.maxUsers, sfuUrls: config.voice.sfuUrls },
    logger,
  });
  const relay = new RtcRelay({ store, voice: voiceStore, blocks, realtime });
  const liveState = new CommunityLiveState({ presence, voice, logger });
  const liveness = new NodeLiveness({
    registry: nodeRegistry,
    identity,
    states: [voice, presence],
    intervalMs: config.heartbeat.intervalMs,
    logger,
  });
  const membership = new MembershipService({ store, realtime, clock, hasher, joinAttempts, activity, communities, access, liveState });
  const serverSettings = new ServerSettingsService({ store, realtime, clock, hasher, liveState });
  const channelAdmin = new ChannelAdminService({ store, realtime, liveState });
  const roles = new RoleService({ store, realtime, liveState });
  const invites = new InviteService({ store, clock });
  const moderation = new ModerationService({ store, realtime, clock, liveState });
  const joinRequests = new JoinRequestService({ store, realtime, clock, activity, access });
  const discovery = new DiscoveryService({ store, clock });
  const chat = new ChatService({
    store,
    access,
    realtime,
    activity,
    commitBatchMax: config.chat.commitBatchMax,
    onCommitBatch: (size) => metrics.chatCommitBatchSize.observe(size),
  });
  const { media, close: closeMedia } = await startMedia({ config, logger, store, realtime, access, clock, redis: config.redis });
  const messageActions = new MessageActions({ store, access, realtime, clock });

  // Transports
  const app = createHttpApp({
    config,
    logger,
    metrics,
    readiness,
    accounts,
    authenticator,
    deviceTokens,
    communities,
    membership,
    serverSettings,
    channelAdmin,
    roles,
    invites,
    moderation,
    joinRequests,
    discovery,
    chat,
    blocks,
    keyRing,
    authLimiter: rateLimiters.create('auth', config.rateLimits.auth),
    communityWriteLimiter: rateLimiters.create('community-write', config.rateLimits.communityWrite),
    discoveryLimiter: rateLimiters.create('discovery', config.rateLimits.discovery),
    media,
    uploadLimiter: rateLimiters.create('upload', config.rateLimits.upload),
  });
  const httpServer = http.createServer(app);
  answerClientErrors(httpServer, logger);
  io.attach(httpServer);
  const admission = new ConnectionAdmission({
    policy: {
      allowedOrigins: config.http.corsOrigins,
      maxUnauthenticatedPerIp: config.admission.maxUnauthenticatedPerIp,
      maxUnauthenticated: config.admission.maxUnauthenticated,
      trustProxyHops: config.http.trustProxyHops,
    },
    handshakeLimiter: localLimiters.create('handshake', config.admission.handshakeRate),
    draining: () => readiness.draining,
    onRefused: (code) => metrics.socketHandshakesRefused.inc({ code }),
  });
  guardSocketIoEntry(httpServer, { path: '/socket.io/', admission, logger });
  const gateway = attachGateway(io, {
    logger,
    metrics,
    clock,
    authenticator,
    communities,
    access,
    membership,
    realtime,
    chat,
    messageActions,
    presence,
    voice,
    relay,
    limiters: {
      chatSend: eventLimiters.create('chat-send', config.rateLimits.chatSend),
      chatFetch: eventLimiters.create('chat-fetch', config.rateLimits.chatFetch),
      chatEdit: eventLimiters.create('chat-edit', config.rateLimits.chatEdit),
      chatDelete: eventLimiters.create('chat-delete', config.rateLimits.chatDelete),
      chatReact: eventLimiters.create('chat-react', config.rateLimits.chatReact),
      chatTyping: eventLimiters.create('chat-typing', config.rateLimits.chatTyping),
      chatResume: eventLimiters.create('chat-resume', config.rateLimits.chatResume),
      accountSync: eventLimiters.create('account-sync', config.rateLimits.accountSync),
      // Carries server passwords and invite codes: counted exactly.
      serverJoin: rateLimiters.create('server-join', config.rateLimits.serverJoin),
      serverLeave: eventLimiters.create('server-leave', config.rateLimits.serverLeave),
      serverRead: eventLimiters.create('server-read', config.rateLimits.serverRead),
      presence: eventLimiters.create('presence', config.rateLimits.presence),
      voiceRequest: eventLimiters.create('voice-request', config.rateLimits.voiceRequest),
      voiceState: eventLimiters.create('voice-state', config.rateLimits.voiceState),
      rtcSignal: eventLimiters.create('rtc-signal', config.rateLimits.rtcSignal),
    },
    admission,
    connectionLimits: { eventRate: config.socket.eventRate, maxInFlight: config.socket.maxInFlight },
  });

  const memoryReclaim =
    config.memoryReclaim.afterConnections > 0
      ? new MemoryReclaim({ ...config.memoryReclaim, collect: memoryReducingGc(), logger })
      : undefined;
  if (memoryReclaim) io.on('connection', () => memoryReclaim.connectionOpened());

  await liveness.start();
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.http.port, config.http.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${port}`;
  logger.info({ port, url, mode: config.mode, database: database.kind, authMode: config.auth.mode }, 'listening');

  shutdown.add('stop reporting ready', () => {
    memoryReclaim?.stop();
    readiness.startDraining();
  });
  shutdown.add('close sockets and http', async () => {
    await new Promise<void>((resolve) => {
      void io.close(() => resolve());
      httpServer.closeIdleConnections();
    });
  });
  shutdown.add('remove this node’s presence and voice', async () => {
    await gateway.settle();
    await liveness.stop();
  });
  shutdown.add('flush community activity', () => activity.close());
  shutdown.add('stop media jobs and storage', () => closeMedia());
  shutdown.add('stop key rotation', () => keyRing.stop());
  if (reconciledLimiters) shutdown.add('send rate-limit counts', () => reconciledLimiters.flush());
  if (redis) shutdown.add('close redis', () => redis.close());
  shutdown.add('close database', () => database.close());

  return { port, url, io, handledEvents: gateway.handledEvents, shutdown: (reason) => shutdown.run(reason) };
}

/**
 * The pod's access cache. In a cluster, changes reach it over its Redis
 * subscription (`access:changed`, `rooms:refresh`): while that is down,
 * every check reads the database.
 */
function accessCacheOf(config: Config, redis: RedisConnections | undefined): AccessCache {
  return new AccessCache({
    ttlMs: config.chat.accessCacheTtlMs,
    maxEntries: config.chat.accessCacheMaxEntries,
    trusted: redis ? () => redis.sub.status === 'ready' : () => true,
  });
}
