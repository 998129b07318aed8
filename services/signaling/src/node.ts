import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { BoundedPasswordHasher } from './adapters/bounded-password-hasher.ts';
import { connectDatabase } from './adapters/database.ts';
import { JoseOidcVerifier } from './adapters/jose-oidc-verifier.ts';
import { Argon2PasswordHasher } from './adapters/password-hasher.ts';
import { connectRedis } from './adapters/redis.ts';
import { systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { AccountService } from './domain/accounts/account.service.ts';
import { Authenticator } from './domain/accounts/authenticator.ts';
import { DeviceTokenService } from './domain/accounts/device-token.service.ts';
import { ChatService } from './domain/chat/chat.service.ts';
import { CommunityService } from './domain/communities/community.service.ts';
import { Store } from './domain/store.ts';
import { attachGateway } from './gateway/gateway.ts';
import { SocketIoRealtime } from './gateway/socket-io-realtime.ts';
import { createSocketServer, type ParleyServer } from './gateway/socket-server.ts';
import { createHttpApp } from './http/app.ts';
import { Readiness } from './lifecycle/readiness.ts';
import { ShutdownRegistry } from './lifecycle/shutdown.ts';
import type { Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { MemoryRateLimiterFactory, RedisRateLimiterFactory } from './rate-limit/rate-limiter.adapters.ts';

export interface RunningNode {
  readonly port: number;
  readonly url: string;
  readonly io: ParleyServer;
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
  const redis = config.redis ? connectRedis({ ...config.redis, nodeId: config.nodeId }, logger) : undefined;
  if (redis) readiness.addCheck('redis', () => redis.ping());
  const rateLimiters = redis ? new RedisRateLimiterFactory(redis.client, redis.keyPrefix) : new MemoryRateLimiterFactory();
  const io = createSocketServer(
    config,
    redis ? createAdapter(redis.pub, redis.sub, { key: `${redis.keyPrefix}socket.io` }) : undefined,
  );

  const hasher = new BoundedPasswordHasher(new Argon2PasswordHasher(), {
    concurrency: config.auth.passwordHashConcurrency,
    queueMax: config.auth.passwordHashQueueMax,
    onWaiting: (waiting) => metrics.passwordHashesWaiting.set(waiting),
    onRejected: () => metrics.passwordHashesRejected.inc(),
  });
  const oidc = config.auth.oidc ? new JoseOidcVerifier(config.auth.oidc, logger) : undefined;
  const realtime = new SocketIoRealtime(io);

  // Domain
  const store = new Store(database.db);
  const clock = systemClock;
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
  const communities = new CommunityService({ store, realtime });
  const chat = new ChatService({ store, communities });

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
    chat,
    authLimiter: rateLimiters.create('auth', config.rateLimits.auth),
  });
  const httpServer = http.createServer(app);
  io.attach(httpServer);
  attachGateway(io, {
    logger,
    metrics,
    clock,
    authenticator,
    communities,
    chat,
    limiters: {
      chatSend: rateLimiters.create('chat-send', config.rateLimits.chatSend),
      chatFetch: rateLimiters.create('chat-fetch', config.rateLimits.chatFetch),
      accountSync: rateLimiters.create('account-sync', config.rateLimits.accountSync),
    },
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.http.port, config.http.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${port}`;
  logger.info({ port, url, mode: config.mode, database: database.kind, authMode: config.auth.mode }, 'listening');

  shutdown.add('stop reporting ready', () => readiness.startDraining());
  shutdown.add('close sockets and http', async () => {
    await new Promise<void>((resolve) => {
      void io.close(() => resolve());
      httpServer.closeIdleConnections();
    });
  });
  if (redis) shutdown.add('close redis', () => redis.close());
  shutdown.add('close database', () => database.close());

  return { port, url, io, shutdown: (reason) => shutdown.run(reason) };
}
