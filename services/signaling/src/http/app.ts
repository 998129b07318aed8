import cors from 'cors';
import express from 'express';
import type { Config } from '../config.ts';
import type { AccountService } from '../domain/accounts/account.service.ts';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { BlockService } from '../domain/accounts/block.service.ts';
import type { DeviceTokenService } from '../domain/accounts/device-token.service.ts';
import type { ChatService } from '../domain/chat/chat.service.ts';
import type { ChannelAdminService } from '../domain/communities/channels/channel-admin.service.ts';
import type { CommunityService } from '../domain/communities/community.service.ts';
import type { InviteService } from '../domain/communities/membership/invite.service.ts';
import type { JoinRequestService } from '../domain/communities/membership/join-request.service.ts';
import type { MembershipService } from '../domain/communities/membership/membership.service.ts';
import type { ModerationService } from '../domain/communities/moderation/moderation.service.ts';
import type { RoleService } from '../domain/communities/roles/role.service.ts';
import type { ServerSettingsService } from '../domain/communities/server-settings.service.ts';
import type { DiscoveryService } from '../domain/discovery/discovery.service.ts';
import type { KeyRing } from '../domain/voice/key-ring.ts';
import type { Readiness } from '../lifecycle/readiness.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { blocksRoutes } from './blocks.routes.ts';
import { errorHandler, notFound } from './error-handler.ts';
import { healthRoutes } from './health.routes.ts';
import { httpMetrics } from './http-metrics.ts';
import { discoveryRoutes } from './discovery.routes.ts';
import { invitesRoutes } from './invites.routes.ts';
import { joinRequestsRoutes, requestsRoutes } from './join-requests.routes.ts';
import { jwksRoutes } from './jwks.routes.ts';
import { membersRoutes } from './members.routes.ts';
import { messagesRoutes } from './messages.routes.ts';
import { limitWrites, refuseForeignOrigins, refuseOversizedBodies } from './middleware.ts';
import { requestLogging } from './request-logging.ts';
import { serverAdminRoutes } from './server-admin.routes.ts';
import { serversRoutes } from './servers.routes.ts';
import { usersRoutes } from './users.routes.ts';

export interface HttpAppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  accounts: AccountService;
  authenticator: Authenticator;
  deviceTokens: DeviceTokenService;
  communities: CommunityService;
  membership: MembershipService;
  serverSettings: ServerSettingsService;
  channelAdmin: ChannelAdminService;
  roles: RoleService;
  invites: InviteService;
  moderation: ModerationService;
  joinRequests: JoinRequestService;
  discovery: DiscoveryService;
  chat: ChatService;
  blocks: BlockService;
  /** Publishes the public keys of SFU join tokens. */
  keyRing: KeyRing;
  authLimiter: RateLimiter;
  /** Community management writes (`PUT`/`POST`/`DELETE` under `/api/servers` and `/api/requests`) and block changes. */
  communityWriteLimiter: RateLimiter;
  /** Public discovery reads and the JWKS, per client IP. */
  discoveryLimiter: RateLimiter;
}

export function createHttpApp(deps: HttpAppDeps): express.Express {
  const { config } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxyHops);

  app.use(requestLogging(deps.logger));
  app.use(httpMetrics(deps.metrics));
  app.use(refuseForeignOrigins(config.http.corsOrigins));
  app.use(cors({ origin: true, maxAge: 600 }));
  app.use(refuseOversizedBodies(config.http.bodyLimitBytes));
  app.use(express.json({ limit: config.http.bodyLimitBytes }));

  app.use(healthRoutes({ nodeId: config.nodeId, readiness: deps.readiness, metrics: deps.metrics }));
  app.use(jwksRoutes(deps));
  app.use('/api/users', usersRoutes(deps));
  app.use('/api/users/me/blocks', blocksRoutes(deps));
  app.use(['/api/servers', '/api/requests'], limitWrites(deps.communityWriteLimiter));
  // Discovery's public GETs first: `/search`, `/featured` and `/trending` are not server ids.
  app.use('/api/servers', discoveryRoutes(deps));
  app.use('/api/servers', serversRoutes(deps));
  app.use('/api/servers', serverAdminRoutes(deps));
  app.use('/api/servers', invitesRoutes(deps));
  app.use('/api/servers', membersRoutes(deps));
  app.use('/api/servers', joinRequestsRoutes(deps));
  app.use('/api/requests', requestsRoutes(deps));
  app.use('/api/messages', messagesRoutes(deps));

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
