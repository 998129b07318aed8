import { mediaJobHandlers, type JobHandlers, type MediaJobDeps } from '@parley/signaling';

/**
 * The handlers this worker runs, one per job name: the same functions an
 * embedded node runs in process, given the worker's adapters.
 */
export function buildHandlers(deps: MediaJobDeps): JobHandlers {
  return mediaJobHandlers(deps);
}
