import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** One upload of the load: resolves when the server has stored it, rejects with the error's code otherwise. */
export type UploadOperation = (index: number) => Promise<void>;

/** Chunks a request body is handed over in, like a socket's reads. */
const CHUNK_BYTES = 64 * 1024;
/** What `S3BlobStore` uses (services/signaling/src/adapters/s3/blob-store.ts): lib-storage's minimum part, two in flight. */
const POD_PART_BYTES = 5 * 1024 * 1024;
const POD_PARTS_IN_FLIGHT = 2;

class UploadFailed extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * `POST <podUrl>/api/uploads` as multipart/form-data with one file part
 * holding `body`, signed in with a session token; expects 201. Bodies are
 * written from memory on keep-alive connections, at most `connections` open.
 */
export function podUpload(options: { podUrl: string; token: string; body: Buffer; connections: number }): { upload: UploadOperation; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const boundary = `parley-bench-${randomBytes(8).toString('hex')}`;
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const upload: UploadOperation = (index) =>
    new Promise((resolve, reject) => {
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench-${index}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      );
      const request = http.request(`${options.podUrl}/api/uploads`, {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${options.token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': head.length + options.body.length + tail.length,
        },
      });
      request.once('error', reject);
      request.once('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () => {
          if (response.statusCode === 201) return resolve();
          const text = Buffer.concat(chunks).toString('utf8');
          let code = `http_${response.statusCode}`;
          try {
            code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? code;
          } catch {
            // not JSON: the status names it
          }
          reject(new UploadFailed(code, text.slice(0, 200)));
        });
      });
      void (async () => {
        request.write(head);
        for (const chunk of chunksOf(options.body)) {
          if (!request.write(chunk)) await new Promise((drained) => request.once('drain', drained));
        }
        request.end(tail);
      })().catch(reject);
    });
  return { upload, close: () => agent.destroy() };
}

/** One PutObject of `body` per upload, to `direct/<run>/<index>`. */
export function directPut(options: { s3: S3Client; bucket: string; body: Buffer; run: string }): UploadOperation {
  return async (index) => {
    await options.s3.send(
      new PutObjectCommand({ Bucket: options.bucket, Key: `direct/${options.run}/${index}`, Body: options.body, ContentType: 'application/octet-stream' }),
    );
  };
}

/**
 * What a pod sends the store for one upload, from the bench process: lib-storage's
 * `Upload` with the pod's part size and parts in flight, the body a stream of
 * unknown length (a 10 MiB body: CreateMultipartUpload, two UploadParts, CompleteMultipartUpload).
 */
export function directMultipart(options: { s3: S3Client; bucket: string; body: Buffer; run: string }): UploadOperation {
  return async (index) => {
    const upload = new Upload({
      client: options.s3,
      params: {
        Bucket: options.bucket,
        Key: `multipart/${options.run}/${index}`,
        Body: Readable.from(chunksOf(options.body)),
        ContentType: 'application/octet-stream',
      },
      partSize: POD_PART_BYTES,
      queueSize: POD_PARTS_IN_FLIGHT,
    });
    await upload.done();
  };
}

function* chunksOf(body: Buffer): Generator<Buffer> {
  for (let offset = 0; offset < body.length; offset += CHUNK_BYTES) yield body.subarray(offset, offset + CHUNK_BYTES);
}
