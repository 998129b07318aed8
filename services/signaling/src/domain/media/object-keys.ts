import type { ThumbnailSize } from './image-processor.ts';

/** Object keys come from ids only: a file's name never reaches storage. */
export const objectKeys = {
  original: (fileId: string) => `files/${fileId}`,
  thumbnail: (fileId: string, size: ThumbnailSize) => `thumbs/${fileId}/${size}.webp`,
};
