import { Router } from 'express';
import type { Readiness } from '../lifecycle/readiness.ts';
import type { Metrics } from '../metrics.ts';

/** Liveness, readiness and Prometheus metrics. */
export function healthRoutes(deps: { nodeId: string; readiness: Readiness; metrics: Metrics }): Router {
  const router = Router();

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok', nodeId: deps.nodeId });
  });

  router.get('/ready', async (_req, res) => {
    const report = await deps.readiness.report();
    res.status(report.ready ? 200 : 503).json({ status: report.ready ? 'ready' : 'not_ready', nodeId: deps.nodeId, ...report });
  });

  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });

  return router;
}
