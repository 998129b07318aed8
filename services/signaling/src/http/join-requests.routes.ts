import { createJoinRequestRequest, decideJoinRequestRequest, pageQuery } from '@parley/protocol';
import { Router } from 'express';
import { z } from 'zod';
import { parsePayload } from '../validation.ts';
import type { HttpAppDeps } from './http-deps.ts';
import { actorOf, requireActor } from './middleware.ts';
import { pathId } from './path-params.ts';

const requestsQuery = pageQuery.extend({ status: z.enum(['pending', 'approved', 'rejected']).optional() });

/** `/api/servers/:serverId/requests`: file one, or list them (moderators). */
export function joinRequestsRoutes(deps: Pick<HttpAppDeps, 'authenticator' | 'joinRequests'>): Router {
  const router = Router();
  const auth = requireActor(deps.authenticator);

  router.get('/:serverId/requests', auth, async (req, res) => {
    const query = parsePayload(requestsQuery, req.query);
    const serverId = pathId(req.params.serverId, 'server_not_found');
    res.json(
      await deps.joinRequests.list(actorOf(res), serverId, { status: query.status, limit: query.limit ?? 50, cursor: query.cursor }),
    );
  });

  router.post('/:serverId/requests', auth, async (req, res) => {
    const input = parsePayload(createJoinRequestRequest, req.body ?? {});
    const serverId = pathId(req.params.serverId, 'server_not_found');
    res.status(201).json(await deps.joinRequests.create(actorOf(res), serverId, input.message || null));
  });

  return router;
}

/** `PUT /api/requests/:id`: a moderator approves or rejects (the seed's path). */
export function requestsRoutes(deps: Pick<HttpAppDeps, 'authenticator' | 'joinRequests'>): Router {
  const router = Router();

  router.put('/:id', requireActor(deps.authenticator), async (req, res) => {
    const input = parsePayload(decideJoinRequestRequest, req.body);
    const id = pathId(req.params.id, 'join_request_not_found');
    res.json(await deps.joinRequests.decide(actorOf(res), id, input.status));
  });

  return router;
}
