import { Router } from 'express';
import type { HttpAppDeps } from './http-deps.ts';
import { actorOf, limitWrites, requireActor } from './middleware.ts';
import { pathId } from './path-params.ts';

/** `/api/users/me/blocks`: the signed-in user's blocks. Changes are rate-limited like other writes. */
export function blocksRoutes(deps: Pick<HttpAppDeps, 'authenticator' | 'blocks' | 'communityWriteLimiter'>): Router {
  const router = Router();
  const signedIn = requireActor(deps.authenticator);
  const limited = limitWrites(deps.communityWriteLimiter);

  router.get('/', signedIn, async (_req, res) => {
    res.json({ items: await deps.blocks.list(actorOf(res)) });
  });

  router.put('/:userId', limited, signedIn, async (req, res) => {
    await deps.blocks.block(actorOf(res), pathId(req.params.userId, 'user_not_found'));
    res.status(204).end();
  });

  router.delete('/:userId', limited, signedIn, async (req, res) => {
    await deps.blocks.unblock(actorOf(res), pathId(req.params.userId, 'user_not_found'));
    res.status(204).end();
  });

  return router;
}
