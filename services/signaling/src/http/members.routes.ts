import { Router } from 'express';
import type { HttpAppDeps } from './app.ts';

// SKELETON: being written by a helper.
export function membersRoutes(_deps: HttpAppDeps): Router {
  return Router({ mergeParams: true });
}
