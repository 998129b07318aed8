import type { Readable } from 'node:stream';

/** The longer side, in px, of each thumbnail made of an image. */
export const THUMBNAIL_SIZES = [256, 1024] as const;
export type ThumbnailSize = (typeof THUMBNAIL_SIZES)[number];

/** An image's derived data: what clients need to lay it out and preview it. */
export interface ProcessedImage {
  /** Of the original, EXIF orientation applied. */
  width: number;
  height: number;
  /** ThumbHash of the image, base64. */
  placeholder: string;
  /** WebP, metadata stripped, the first frame of an animation, fitting inside size × size. */
  thumbnails: Array<{ size: ThumbnailSize; data: Buffer }>;
}

/** Why an image was refused: a permanent failure, named in `file:failed`. */
export type ImageRejection = 'not_an_image' | 'too_many_pixels' | 'corrupt_image';

export class ImageRejected extends Error {
  readonly reason: ImageRejection;

  constructor(reason: ImageRejection, message: string) {
    super(message);
    this.name = 'ImageRejected';
    this.reason = reason;
  }
}

/** Makes thumbnails (sharp in every mode). Throws `ImageRejected` for input no retry can fix. */
export interface ImageProcessor {
  process(input: Readable | Buffer): Promise<ProcessedImage>;
}
