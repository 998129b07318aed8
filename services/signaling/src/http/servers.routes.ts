import { createServerRequest } from '@parley/protocol';
import { Router } from 'express';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { CommunityService } from '../domain/communities/community.service.ts';
import { parsePayload } from '../validation.ts';
import { actorOf, requireActor } from './middleware.ts';

/** `/api/servers`: communities. */
export function serversRoutes(deps: { authenticator: Authenticator; communities: CommunityService }): Router {
  const router = Router();

  router.post('/', requireActor(deps.authenticator), async (req, res) => {
    const input = parsePayload(createServerRequest, req.body);
    res.status(201).json(await deps.communities.createServer(actorOf(res), input));
  });

  return router;
}
