import { z } from 'zod';
import { limits } from './limits.ts';
import { text } from './text.ts';

/** Zod schemas of the upload endpoints (see schemas.ts for the conventions). */

/** What an upload is for (default `attachment`). */
export const filePurpose = z.enum(['attachment', 'avatar', 'icon']);

/**
 * `POST /api/uploads/presign`: announce a direct upload. `size` is the exact
 * byte count the client will send (at most `UPLOAD_MAX_BYTES`); `contentType`
 * is a hint for the client's own use only: the stored type is sniffed from the bytes.
 */
export const presignUploadRequest = z.object({
  name: text().min(1).max(limits.fileName.max),
  size: z.number().int().min(1),
  contentType: text().max(limits.contentType.max).optional(),
  purpose: filePurpose.optional(),
});
export type PresignUploadRequest = z.input<typeof presignUploadRequest>;

/** `GET /api/files/:id?variant=`: the original (default) or a thumbnail by its longer side. */
export const fileQuery = z.object({
  variant: z.enum(['original', '256', '1024']).optional(),
});
export type FileQuery = z.output<typeof fileQuery>;
