import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from '../metrics.ts';

/** Counts and times each request by its route template (never the raw path, which would explode label cardinality). */
export function httpMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const stopTimer = metrics.httpRequestDuration.startTimer();
    res.once('finish', () => {
      const path = String(req.route?.path);
      const route = req.route ? `${req.baseUrl}${path === '/' && req.baseUrl ? '' : path}` : 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      stopTimer(labels);
    });
    next();
  };
}
