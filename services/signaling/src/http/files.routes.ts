import { fileQuery } from '@parley/protocol';
import { Router } from 'express';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { MediaService } from '../domain/media/media.service.ts';
import { parsePayload } from '../validation.ts';
import { contentDisposition } from '../domain/media/content-disposition.ts';
import { optionalActor, viewerOf } from './middleware.ts';
import { pathId } from './path-params.ts';

/**
 * `/api/files/:id`: a file's bytes or a thumbnail, and its description.
 * Anonymous callers may read what is public (avatars, icons of discoverable
 * communities); the rest needs a Bearer token, and whoever may not read a
 * file gets `404 file_not_found`, as for an unknown id.
 */
export function filesRoutes(deps: { authenticator: Authenticator; media: MediaService }): Router {
  const router = Router();
  const viewer = optionalActor(deps.authenticator);

  router.get('/:fileId', viewer, async (req, res) => {
    const fileId = pathId(req.params.fileId, 'file_not_found');
    const { variant } = parsePayload(fileQuery, req.query);
    const download = await deps.media.download(viewerOf(res)?.userId, fileId, variant);
    res.setHeader('Cache-Control', 'private, max-age=60');
    if ('redirect' in download) return res.redirect(302, download.redirect);
    res.setHeader('Content-Type', download.contentType);
    res.setHeader('Content-Length', String(download.size));
    res.setHeader('Content-Disposition', contentDisposition(download.disposition, download.fileName));
    // Served as what it was sniffed to be: a browser must not second-guess it (a JPEG that is also HTML stays a JPEG).
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    download.body.on('error', () => res.destroy());
    download.body.pipe(res);
  });

  router.get('/:fileId/info', viewer, async (req, res) => {
    res.json(await deps.media.info(viewerOf(res)?.userId, pathId(req.params.fileId, 'file_not_found')));
  });

  return router;
}
