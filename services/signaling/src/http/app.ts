import cors from 'cors';
import express from 'express';
import { blocksRoutes } from './blocks.routes.ts';
import { errorHandler, notFound } from './error-handler.ts';
import { filesRoutes } from './files.routes.ts';
import { healthRoutes } from './health.routes.ts';
import type { HttpAppDeps } from './http-deps.ts';
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
import { uploadsRoutes } from './uploads.routes.ts';
import { usersRoutes } from './users.routes.ts';

/** The pod's HTTP API: cross-cutting middleware, then each area's routes, then the 404 and error answers. */
export function createHttpApp(deps: HttpAppDeps): express.Express {
  const { config } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxyHops);

  app.use(requestLogging(deps.logger));
  app.use(httpMetrics(deps.metrics));
  app.use(refuseForeignOrigins(config.http.corsOrigins));
  app.use(cors({ origin: true, maxAge: 600 }));
  // Uploads stream their multipart bodies themselves: before the JSON body limit and parser.
  app.use(
    '/api/uploads',
    uploadsRoutes({ ...deps, maxUploadBytes: config.media.maxUploadBytes, bodyLimitBytes: config.http.bodyLimitBytes }),
  );
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
  app.use('/api/files', filesRoutes(deps));

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
