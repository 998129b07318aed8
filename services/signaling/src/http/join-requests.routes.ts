import { Router } from 'express';
import type { HttpAppDeps } from './app.ts';

// SKELETON
export function joinRequestsRoutes(_deps: HttpAppDeps): Router {
  return Router();
}
export function requestsRoutes(_deps: HttpAppDeps): Router {
  return Router();
}
