import type { BlobStore } from '../domain/media/blob-store.ts';
import { AppError } from '../errors.ts';

/** A cluster without object storage: every use of it answers `uploads_unavailable` (pods cannot share a directory). */
export class UnavailableBlobStore implements BlobStore {
  async put(): Promise<never> {
    throw new AppError('uploads_unavailable');
  }

  async head(): Promise<undefined> {
    return undefined;
  }

  async get(): Promise<undefined> {
    return undefined;
  }

  async delete(): Promise<void> {}

  async presignGet(): Promise<never> {
    throw new AppError('uploads_unavailable');
  }

  async presignPost(): Promise<never> {
    throw new AppError('uploads_unavailable');
  }
}
