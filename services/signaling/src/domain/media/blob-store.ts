import type { Readable } from 'node:stream';

/** Thrown by `BlobStore.put` when the body grows past `maxBytes`: nothing was stored. */
export class BlobTooLarge extends Error {
  constructor(maxBytes: number) {
    super(`The body is larger than ${maxBytes} bytes`);
    this.name = 'BlobTooLarge';
  }
}

/** How a short-lived download link presents the object. */
export interface DownloadOptions {
  /** The name offered to save it under (cleaned already). */
  fileName: string;
  contentType: string;
  /** `inline` only for images that are safe to render (never SVG); everything else `attachment`. */
  disposition: 'inline' | 'attachment';
  expiresInSeconds: number;
}

/**
 * Object storage, by key. Keys come from ids (see `object-keys.ts`), never
 * from names. Embedded: files under `DATA_DIR/files`; cluster: an S3 bucket.
 */
export interface BlobStore {
  /**
   * Streams `body` into `key` without holding it in memory. When it grows
   * past `maxBytes` the write is cut and its partial object removed (or the
   * multipart upload aborted): throws `BlobTooLarge`, nothing is stored.
   * Rejects, storing nothing, when `body` fails or is aborted.
   */
  put(key: string, body: Readable | Buffer, options: { contentType: string; maxBytes: number }): Promise<{ size: number }>;
  /** The stored object's size, or undefined when there is none. */
  head(key: string): Promise<{ size: number } | undefined>;
  /** The object's bytes (the first `length` of them when given), or undefined when there is none. */
  get(key: string, options?: { length?: number }): Promise<Readable | undefined>;
  /** Removes the objects; keys that do not exist are ignored. */
  delete(keys: readonly string[]): Promise<void>;
  /** A short-lived URL to GET the object from the store itself, or undefined when the store cannot serve clients (then the pod streams it). */
  presignGet(key: string, options: DownloadOptions): Promise<string | undefined>;
  /**
   * A form upload straight to the store, limited to `maxBytes`, or undefined
   * when the store cannot take uploads from clients (then they go through the pod).
   */
  presignPost(key: string, options: { maxBytes: number; expiresInSeconds: number }): Promise<{ url: string; fields: Record<string, string> } | undefined>;
}
