import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Settings } from '../../config.ts';
import { BlobTooLarge, type BlobStore, type DownloadOptions } from '../../domain/media/blob-store.ts';
import { contentDisposition } from '../../domain/media/content-disposition.ts';

/** lib-storage's minimum part: bodies up to it go in one PutObject. */
const PART_BYTES = 5 * 1024 * 1024;
/** Parts sent at once per upload: with the part being filled and its copy, about 20 MiB at the peak. */
const PARTS_IN_FLIGHT = 2;
/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

export interface S3BlobStoreOptions {
  readonly settings: S3Settings;
}

/**
 * Objects in an S3 bucket (AWS, MinIO, R2...). Pods reach the store at
 * `endpoint`; presigned URLs name `publicEndpoint`, where clients reach it.
 */
export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  /** Signs URLs for clients; it sends nothing. */
  readonly #signer: S3Client;
  readonly #bucket: string;

  constructor({ settings }: S3BlobStoreOptions) {
    const base: S3ClientConfig = {
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      // Without keys, the SDK's default chain (environment, web identity, instance role) applies.
      ...(settings.accessKeyId && settings.secretAccessKey
        ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
        : {}),
    };
    this.#bucket = settings.bucket;
    this.#client = new S3Client({ ...base, endpoint: settings.endpoint });
    const publicEndpoint = settings.publicEndpoint ?? settings.endpoint;
    this.#signer = publicEndpoint === settings.endpoint ? this.#client : new S3Client({ ...base, endpoint: publicEndpoint });
  }

  async put(key: string, body: Readable | Buffer, options: { contentType: string; maxBytes: number }): Promise<{ size: number }> {
    if (Buffer.isBuffer(body)) return this.#putBuffer(key, body, options);
    let size = 0;
    let bodyFailure: unknown;
    // Fails with BlobTooLarge on the chunk that passes maxBytes, before lib-storage sees it.
    // When lib-storage gives up on the stream (the store failed), Readable.from throws its
    // error in at the yield: that is not the body's failure.
    const counted = Readable.from(
      (async function* () {
        let handedOver = false;
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            size += chunk.length;
            if (size > options.maxBytes) throw new BlobTooLarge(options.maxBytes);
            handedOver = true;
            yield chunk;
            handedOver = false;
          }
        } catch (error) {
          if (!handedOver) bodyFailure = error;
          throw error;
        }
      })(),
    );
    // Unknown length: lib-storage reads PART_BYTES at a time, one PutObject when
    // the body ends within the first part, else a multipart upload.
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: key, Body: counted, ContentType: options.contentType },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
    });
    try {
      await upload.done();
    } catch (error) {
      // A body that failed or grew too large stops lib-storage while it reads, before
      // any PutObject or CompleteMultipartUpload, and it aborts the multipart upload
      // before `done()` rejects. (Its own `abort()` would not do: `done()` rejects at
      // once while that cleanup still runs, and a request in flight is not cancelled.)
      const failure = bodyFailure;
      counted.destroy();
      body.destroy();
      // Else the store failed, perhaps after committing the object (a lost answer to
      // the last request): remove it. Keys come from ids, so it can only be this write.
      if (failure === undefined) await this.delete([key]).catch(() => {});
      throw failure ?? error;
    }
    return { size };
  }

  /** Bytes already in memory (thumbnails): one PutObject, without lib-storage's stream machinery. */
  async #putBuffer(key: string, body: Buffer, options: { contentType: string; maxBytes: number }): Promise<{ size: number }> {
    if (body.length > options.maxBytes) throw new BlobTooLarge(options.maxBytes);
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: body, ContentType: options.contentType }));
    } catch (error) {
      // Perhaps committed, its answer lost: remove it, as for a stream.
      await this.delete([key]).catch(() => {});
      throw error;
    }
    return { size: body.length };
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async get(key: string, options: { length?: number } = {}): Promise<Readable | undefined> {
    const { length } = options;
    if (length !== undefined && length <= 0) return (await this.head(key)) ? Readable.from([]) : undefined;
    try {
      const object = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: key, Range: length === undefined ? undefined : `bytes=0-${length - 1}` }),
      );
      if (!(object.Body instanceof Readable)) throw new Error('The S3 client answered with a body that is not a Node stream');
      // A server may ignore the range (s3rver does for `bytes=0-0`): cut the stream ourselves.
      if (length === undefined || (object.ContentLength !== undefined && object.ContentLength <= length)) return object.Body;
      return Readable.from(firstBytes(object.Body, length));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      // A range of an empty object cannot be satisfied: the object is there, with no bytes.
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 416) return Readable.from([]);
      throw error;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const result = await this.#client.send(
        new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      // Quiet: only failures are listed. A key that does not exist counts as deleted.
      const [failure] = result.Errors ?? [];
      if (failure) throw new Error(`S3 could not delete ${failure.Key ?? 'an object'}: ${failure.Code ?? 'error'} ${failure.Message ?? ''}`.trim());
    }
  }

  presignGet(key: string, options: DownloadOptions): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.#bucket,
      Key: key,
      ResponseContentDisposition: contentDisposition(options.disposition, options.fileName),
      ResponseContentType: safeContentType(options.contentType),
    });
    return getSignedUrl(this.#signer, command, { expiresIn: options.expiresInSeconds });
  }

  async presignPost(key: string, options: { maxBytes: number; expiresInSeconds: number }): Promise<{ url: string; fields: Record<string, string> }> {
    // The policy also pins the bucket and the key (added by createPresignedPost).
    const { url, fields } = await createPresignedPost(this.#signer, {
      Bucket: this.#bucket,
      Key: key,
      Conditions: [['content-length-range', 1, options.maxBytes]],
      Expires: options.expiresInSeconds,
    });
    return { url, fields };
  }

  /** Closes the client's connections. */
  close(): void {
    this.#client.destroy();
    if (this.#signer !== this.#client) this.#signer.destroy();
  }
}

/** The first `length` bytes of `source`; stops reading it (destroying it) there. */
async function* firstBytes(source: Readable, length: number): AsyncGenerator<Buffer> {
  let remaining = length;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (chunk.length >= remaining) {
      yield chunk.subarray(0, remaining);
      return;
    }
    remaining -= chunk.length;
    yield chunk;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.name === 'NotFound' || error.name === 'NoSuchKey');
}

const CONTENT_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(?:\s*;\s*[\w!#$&^.+-]+=(?:[\w!#$&^.+-]+|"[^"\\\r\n]*"))*$/;

/** The type as given when it is a well-formed media type, else `application/octet-stream`. */
function safeContentType(contentType: string): string {
  return CONTENT_TYPE.test(contentType) ? contentType : 'application/octet-stream';
}
