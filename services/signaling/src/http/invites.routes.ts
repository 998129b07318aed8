import { createInviteRequest, inviteCode, pageQuery } from '@parley/protocol';
import { Router } from 'express';
import { AppError } from '../errors.ts';
import { parsePayload } from '../validation.ts';
import type { HttpAppDeps } from './http-deps.ts';
import { actorOf, requireActor } from './middleware.ts';
import { pathId } from './path-params.ts';

/** `/api/servers/:serverId/invites`. */
export function invitesRoutes(deps: Pick<HttpAppDeps, 'authenticator' | 'invites'>): Router {
  const router = Router();
  const auth = requireActor(deps.authenticator);

  router.get('/:serverId/invites', auth, async (req, res) => {
    const query = parsePayload(pageQuery, req.query);
    const serverId = pathId(req.params.serverId, 'server_not_found');
    res.json(await deps.invites.list(actorOf(res), serverId, { limit: query.limit ?? 50, cursor: query.cursor }));
  });

  router.post('/:serverId/invites', auth, async (req, res) => {
    const input = parsePayload(createInviteRequest, req.body ?? {});
    res.status(201).json(await deps.invites.create(actorOf(res), pathId(req.params.serverId, 'server_not_found'), input));
  });

  router.delete('/:serverId/invites/:code', auth, async (req, res) => {
    const serverId = pathId(req.params.serverId, 'server_not_found');
    const code = inviteCode.safeParse(req.params.code);
    if (!code.success) throw new AppError('invite_not_found');
    await deps.invites.revoke(actorOf(res), serverId, code.data);
    res.status(204).end();
  });

  return router;
}
