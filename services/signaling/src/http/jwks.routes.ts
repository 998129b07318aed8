import { Router } from 'express';
import type { HttpAppDeps } from './http-deps.ts';
import { limitByIp } from './middleware.ts';

/**
 * `/.well-known/jwks.json`: the public keys SFUs verify join tokens with.
 * Public, and limited per IP like discovery. A key is published a whole
 * rotation before it signs, so a cached copy knows it in time.
 */
export function jwksRoutes(deps: Pick<HttpAppDeps, 'keyRing' | 'discoveryLimiter'>): Router {
  const router = Router();
  const limited = limitByIp(deps.discoveryLimiter);

  router.get('/.well-known/jwks.json', limited, (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json(deps.keyRing.jwks());
  });

  return router;
}
