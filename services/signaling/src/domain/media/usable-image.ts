import { AppError } from '../../errors.ts';
import type { Repositories } from '../store.ts';

/**
 * An avatar or a community icon must be one of the actor's own uploads made
 * for that purpose, and a processed image (so it has its thumbnails).
 * Throws `invalid_file`.
 */
export async function requireUsableImage(repos: Repositories, ownerId: string, fileId: string, purpose: 'avatar' | 'icon'): Promise<void> {
  const [file] = await repos.files.listOwned(ownerId, [fileId]);
  if (!file || file.purpose !== purpose || file.status !== 'ready' || !file.thumbnails) {
    throw new AppError('invalid_file', `The ${purpose} must be one of your uploaded images (purpose ${purpose}), processed`);
  }
}
