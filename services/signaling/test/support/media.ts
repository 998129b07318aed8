import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3Service } from '@parley/testkit';
import { redisUrl } from '@parley/testkit/vitest';
import type { FileInfo, PresignedUpload, UploadResult } from '@parley/protocol';
import { Redis } from 'ioredis';
import { BullMqJobQueue } from '../../src/adapters/bullmq/job-queue.ts';
import { BullMqJobRunner } from '../../src/adapters/bullmq/job-runner.ts';
import { S3BlobStore } from '../../src/adapters/s3/blob-store.ts';
import { SharpImageProcessor } from '../../src/adapters/sharp/image-processor.ts';
import { emitterRealtime } from '../../src/adapters/socket-io/emitter-realtime.ts';
import { systemClock, type Clock } from '../../src/clock.ts';
import type { JobHandlers } from '../../src/domain/media/job-queue.ts';
import { mediaJobHandlers } from '../../src/domain/media/media.jobs.ts';
import { Store } from '../../src/domain/store.ts';
import { createLogger } from '../../src/logger.ts';
import { startTestNode, type TestNode } from './test-node.ts';
import type { TestUser } from './users.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', format: 'json', nodeId: 'media-test' });

/** The environment that points a node (or a worker) at a test S3 server. */
export function s3Env(s3: S3Service): Record<string, string> {
  return {
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_REGION: s3.region,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
  };
}

/**
 * A node with object storage (a real S3 API server), and a job runner in
 * this process doing what a worker does, with the real handlers: sharp,
 * the bucket, the database, events through the Redis emitter.
 */
export class MediaWorld {
  readonly node: TestNode;
  readonly s3: S3Service;
  #runner: BullMqJobRunner | undefined;
  readonly #queue: BullMqJobQueue;
  readonly #redis: Redis;
  readonly #bucket: S3Client;
  readonly #blobs: S3BlobStore;
  readonly #handlerDeps: Parameters<typeof mediaJobHandlers>[0];

  private constructor(parts: {
    node: TestNode;
    s3: S3Service;
    runner: BullMqJobRunner | undefined;
    queue: BullMqJobQueue;
    redis: Redis;
    blobs: S3BlobStore;
    handlerDeps: Parameters<typeof mediaJobHandlers>[0];
  }) {
    this.node = parts.node;
    this.s3 = parts.s3;
    this.#runner = parts.runner;
    this.#queue = parts.queue;
    this.#redis = parts.redis;
    this.#blobs = parts.blobs;
    this.#handlerDeps = parts.handlerDeps;
    this.#bucket = new S3Client({
      endpoint: parts.s3.endpoint,
      region: parts.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: parts.s3.accessKeyId, secretAccessKey: parts.s3.secretAccessKey },
    });
  }

  /** Stops running jobs: uploads stay `processing` until `startJobs`. */
  async stopJobs(): Promise<void> {
    await this.#runner?.close(5000);
    this.#runner = undefined;
  }

  async startJobs(): Promise<void> {
    this.#runner ??= await startRunner(this.node.env.REDIS_KEY_PREFIX!, this.#handlerDeps);
  }

  static async start(env: Record<string, string> = {}): Promise<MediaWorld> {
    const s3 = await startS3Server();
    const node = await startTestNode({ ...s3Env(s3), RATE_LIMIT_UPLOAD: '100000/1m', RATE_LIMIT_AUTH: '100000/1m', ...env });
    const keyPrefix = node.env.REDIS_KEY_PREFIX!;
    const redis = new Redis(redisUrl());
    const blobs = new S3BlobStore({
      settings: {
        bucket: s3.bucket,
        region: s3.region,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        endpoint: s3.endpoint,
        publicEndpoint: s3.endpoint,
        forcePathStyle: true,
      },
    });
    const queue = new BullMqJobQueue({ url: redisUrl(), keyPrefix, nodeId: 'media-test', timeoutMs: 5000, logger });
    const handlerDeps = {
      store: new Store(node.database.db),
      blobs,
      images: new SharpImageProcessor({ maxInputPixels: 50_000_000, threads: 1 }),
      realtime: emitterRealtime(redis, keyPrefix),
      queue,
      clock: systemClock,
      logger,
      settings: { unattachedTtlMs: 86_400_000 },
    };
    const runner = await startRunner(keyPrefix, handlerDeps);
    return new MediaWorld({ node, s3, runner, queue, redis, blobs, handlerDeps });
  }

  get url(): string {
    return this.node.url;
  }

  /** The job handlers on another clock (to run the sweep as if time had passed). */
  handlersAt(clock: Clock): JobHandlers {
    return mediaJobHandlers({ ...this.#handlerDeps, clock });
  }

  /** Every key in the bucket. */
  async objectKeys(): Promise<string[]> {
    const listed = await this.#bucket.send(new ListObjectsV2Command({ Bucket: this.s3.bucket }));
    return (listed.Contents ?? []).map((object) => object.Key!).sort();
  }

  async stop(): Promise<void> {
    await this.#runner?.close(5000);
    await this.#queue.close();
    this.#blobs.close();
    this.#bucket.destroy();
    this.#redis.disconnect();
    await this.node.stop();
    await this.s3.stop();
  }
}

/** What a worker does, in this process. */
function startRunner(keyPrefix: string, handlerDeps: Parameters<typeof mediaJobHandlers>[0]): Promise<BullMqJobRunner> {
  return BullMqJobRunner.start({
    url: redisUrl(),
    keyPrefix,
    nodeId: 'media-test-worker',
    handlers: mediaJobHandlers(handlerDeps),
    concurrency: 2,
    logger,
  });
}

/** A multipart upload through the node, as a client sends it. */
export async function upload(
  url: string,
  user: TestUser | undefined,
  data: Buffer | ReadableStream<Uint8Array>,
  options: { name?: string; purpose?: string; path?: string } = {},
): Promise<{ status: number; body: UploadResult & FileInfo & { error?: { code: string; message: string } } }> {
  const form = new FormData();
  if (options.purpose !== undefined) form.append('purpose', options.purpose);
  if (Buffer.isBuffer(data)) {
    form.append('file', new Blob([new Uint8Array(data)]), options.name ?? 'file.bin');
    const response = await fetch(`${url}${options.path ?? '/api/uploads'}`, {
      method: 'POST',
      body: form,
      headers: user ? { Authorization: `Bearer ${user.session.token}` } : {},
    });
    return { status: response.status, body: (await response.json()) as never };
  }
  // A streamed body: no Content-Length, as a client sending a file of unknown size does.
  const boundary = `----parley${crypto.randomUUID()}`;
  const head = new TextEncoder().encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${options.name ?? 'file.bin'}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
  const reader = data.getReader();
  let started = false;
  let ended = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        return controller.enqueue(head);
      }
      if (ended) return controller.close();
      const next = await reader.read();
      if (next.done) {
        ended = true;
        return controller.enqueue(tail);
      }
      controller.enqueue(next.value);
    },
  });
  const response = await fetch(`${url}${options.path ?? '/api/uploads'}`, {
    method: 'POST',
    body,
    duplex: 'half',
    headers: {
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
      ...(user ? { Authorization: `Bearer ${user.session.token}` } : {}),
    },
  } as RequestInit);
  return { status: response.status, body: (await response.json()) as never };
}

/** `size` bytes of zeros, streamed in 64 KiB chunks. */
export function zeros(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const chunk = new Uint8Array(Math.min(64 * 1024, size - sent));
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
}

/** A presigned upload carried out as a browser would: the fields, then the bytes, to the returned URL. */
export async function postPresigned(presigned: PresignedUpload, data: Buffer, base: string, token?: string): Promise<number> {
  const form = new FormData();
  for (const [name, value] of Object.entries(presigned.fields)) form.append(name, value);
  form.append('file', new Blob([new Uint8Array(data)]), 'upload.bin');
  const absolute = presigned.url.startsWith('/') ? `${base}${presigned.url}` : presigned.url;
  const response = await fetch(absolute, { method: 'POST', body: form, headers: token ? { Authorization: `Bearer ${token}` } : {} });
  await response.arrayBuffer();
  return response.status;
}
