import { filePurpose, presignUploadRequest } from '@parley/protocol';
import { Router, json, type Request, type Response } from 'express';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { MediaService } from '../domain/media/media.service.ts';
import { AppError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { parsePayload } from '../validation.ts';
import { actorOf, limitWrites, refuseOversizedBodies, requireActor } from './middleware.ts';
import { multipartFile } from './multipart.ts';
import { pathId } from './path-params.ts';

/** Room for the multipart framing and the fields around a file of the largest size. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/**
 * `/api/uploads`: files sent through the pod (multipart, streamed to object
 * storage), and direct uploads (presign, then complete). Mounted before the
 * app's JSON body parser: multipart bodies are never parsed whole.
 */
export function uploadsRoutes(deps: {
  authenticator: Authenticator;
  media: MediaService;
  metrics: Metrics;
  uploadLimiter: RateLimiter;
  maxUploadBytes: number;
  bodyLimitBytes: number;
}): Router {
  const router = Router();
  const signedIn = requireActor(deps.authenticator);
  const limited = limitWrites(deps.uploadLimiter);
  const smallJson = [refuseOversizedBodies(deps.bodyLimitBytes), json({ limit: deps.bodyLimitBytes })];
  const multipartBody = refuseOversizedBodies(deps.maxUploadBytes + MULTIPART_OVERHEAD_BYTES);

  const measured = measure(deps.metrics);

  router.post('/', limited, multipartBody, signedIn, measured('upload', async (req, res) => {
    const { fields, file } = await multipartFile(req);
    const purpose = parsePayload(filePurpose.optional(), fields.get('purpose')) ?? 'attachment';
    const result = await whileReceiving(req, deps.media.upload(actorOf(res), purpose, file));
    res.status(201).json(result);
    return result.file.size;
  }));

  router.post('/presign', limited, ...smallJson, signedIn, measured('presign', async (req, res) => {
    const input = parsePayload(presignUploadRequest, req.body);
    res.status(201).json(await deps.media.presign(actorOf(res), input));
  }));

  router.post('/:fileId/complete', limited, ...smallJson, signedIn, measured('complete', async (req, res) => {
    res.json(await deps.media.complete(actorOf(res), pathId(req.params.fileId, 'file_not_found')));
  }));

  // Where a presigned upload goes when the store cannot take it from clients itself (embedded mode).
  router.post('/:fileId', limited, multipartBody, signedIn, measured('direct', async (req, res) => {
    const fileId = pathId(req.params.fileId, 'file_not_found');
    const { file } = await multipartFile(req);
    const stored = await whileReceiving(req, deps.media.receivePresigned(actorOf(res), fileId, file));
    res.json(stored);
    return stored.size;
  }));

  return router;
}

/**
 * Counts an upload route's outcomes: its duration by outcome, the bytes it
 * stored (what the handler returns), and refusals by code.
 */
function measure(metrics: Metrics) {
  return (route: string, handler: (req: Request, res: Response) => Promise<number | void>) =>
    async (req: Request, res: Response) => {
      const stopTimer = metrics.uploadDuration.startTimer({ route });
      try {
        const bytes = await handler(req, res);
        if (bytes) metrics.uploadBytes.inc({ route }, bytes);
        stopTimer({ outcome: 'ok' });
      } catch (error) {
        const code = error instanceof AppError ? error.code : 'error';
        metrics.uploadRefusals.inc({ code });
        stopTimer({ outcome: code });
        throw error;
      }
    };
}

/** `work` on a body still arriving: a body that did not arrive whole gets its failure named as such. */
async function whileReceiving<T>(req: Request, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    // (`req.destroyed` is true for every body read to its end: only `complete` tells a cut-off one.)
    if (!(error instanceof AppError) && !req.complete) {
      throw new AppError('invalid_payload', 'The request body was cut off', { cause: error });
    }
    throw error;
  }
}
