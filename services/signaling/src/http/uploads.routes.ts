import { filePurpose, presignUploadRequest } from '@parley/protocol';
import { Router, json, type Request } from 'express';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { MediaService } from '../domain/media/media.service.ts';
import { AppError } from '../errors.ts';
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
  uploadLimiter: RateLimiter;
  maxUploadBytes: number;
  bodyLimitBytes: number;
}): Router {
  const router = Router();
  const signedIn = requireActor(deps.authenticator);
  const limited = limitWrites(deps.uploadLimiter);
  const smallJson = [refuseOversizedBodies(deps.bodyLimitBytes), json({ limit: deps.bodyLimitBytes })];
  const multipartBody = refuseOversizedBodies(deps.maxUploadBytes + MULTIPART_OVERHEAD_BYTES);

  router.post('/', limited, multipartBody, signedIn, async (req, res) => {
    const { fields, file } = await multipartFile(req);
    const purpose = parsePayload(filePurpose.optional(), fields.get('purpose')) ?? 'attachment';
    const result = await whileReceiving(req, deps.media.upload(actorOf(res), purpose, file));
    res.status(201).json(result);
  });

  router.post('/presign', limited, ...smallJson, signedIn, async (req, res) => {
    const input = parsePayload(presignUploadRequest, req.body);
    res.status(201).json(await deps.media.presign(actorOf(res), input));
  });

  router.post('/:fileId/complete', limited, signedIn, async (req, res) => {
    res.json(await deps.media.complete(actorOf(res), pathId(req.params.fileId, 'file_not_found')));
  });

  // Where a presigned upload goes when the store cannot take it from clients itself (embedded mode).
  router.post('/:fileId', limited, multipartBody, signedIn, async (req, res) => {
    const fileId = pathId(req.params.fileId, 'file_not_found');
    const { file } = await multipartFile(req);
    res.json(await whileReceiving(req, deps.media.receivePresigned(actorOf(res), fileId, file)));
  });

  return router;
}

/** `work` on a body still arriving: a client that hangs up half-way gets its failure named as such. */
async function whileReceiving<T>(req: Request, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (!(error instanceof AppError) && (req.readableAborted || req.destroyed)) {
      throw new AppError('invalid_payload', 'The request body was cut off', { cause: error });
    }
    throw error;
  }
}
