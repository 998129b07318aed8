import { limits, pageQuery, searchQuery } from '@parley/protocol';
import { Router } from 'express';
import { parsePayload } from '../validation.ts';
import type { HttpAppDeps } from './http-deps.ts';
import { limitByIp } from './middleware.ts';
import { pathId } from './path-params.ts';

/**
 * `/api/servers`: public discovery, no token needed. Mounted before the other
 * `/api/servers` routers, and `/:serverId` last here, so that `search`,
 * `featured` and `trending` are never taken for server ids.
 */
export function discoveryRoutes(deps: Pick<HttpAppDeps, 'discovery' | 'discoveryLimiter'>): Router {
  const router = Router();
  const limited = limitByIp(deps.discoveryLimiter);

  router.get('/', limited, async (req, res) => {
    const query = parsePayload(pageQuery, req.query);
    res.json(await deps.discovery.list({ limit: query.limit ?? limits.page.default, cursor: query.cursor }));
  });

  router.get('/search', limited, async (req, res) => {
    const query = parsePayload(searchQuery, req.query);
    res.json(await deps.discovery.search({ q: query.q, limit: query.limit ?? limits.page.default, cursor: query.cursor }));
  });

  router.get('/featured', limited, async (req, res) => {
    const query = parsePayload(pageQuery, req.query);
    res.json({ items: await deps.discovery.featured({ limit: query.limit ?? limits.page.default }) });
  });

  router.get('/trending', limited, async (req, res) => {
    const query = parsePayload(pageQuery, req.query);
    res.json({ items: await deps.discovery.trending({ limit: query.limit ?? limits.page.default }) });
  });

  router.get('/:serverId', limited, async (req, res) => {
    res.json(await deps.discovery.preview(pathId(req.params.serverId, 'server_not_found')));
  });

  return router;
}
