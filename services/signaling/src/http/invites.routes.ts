import { Router } from 'express';
import type { HttpAppDeps } from './app.ts';

// SKELETON
export function invitesRoutes(_deps: HttpAppDeps): Router {
  return Router();
}
