import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { BullMqJobQueue } from './adapters/bullmq/job-queue.ts';
import { FsBlobStore } from './adapters/fs/blob-store.ts';
import { InProcessJobQueue } from './adapters/memory/job-queue.ts';
import { S3BlobStore } from './adapters/s3/blob-store.ts';
import { SharpImageProcessor } from './adapters/sharp/image-processor.ts';
import { UnavailableBlobStore } from './adapters/unavailable-blob-store.ts';
import type { ChannelAccess } from './domain/communities/access/channel-access.ts';
import type { BlobStore } from './domain/media/blob-store.ts';
import type { JobQueue } from './domain/media/job-queue.ts';
import { mediaJobHandlers } from './domain/media/media.jobs.ts';
import { MediaService } from './domain/media/media.service.ts';
import type { Store } from './domain/store.ts';
import type { Logger } from './logger.ts';
import type { Realtime } from './realtime/realtime.ts';

/**
 * The media path of a node, part of the composition root. Object storage:
 * the S3 bucket when configured; else the embedded node's own directory; a
 * cluster of pods without a bucket has no uploads (pods cannot share a
 * directory). Jobs: BullMQ queues run by `services/worker` in a cluster;
 * in process, with the same handlers, in an embedded node.
 */
export async function startMedia(deps: {
  config: Config;
  logger: Logger;
  store: Store;
  realtime: Realtime;
  access: ChannelAccess;
  clock: Clock;
  redis: Config['redis'];
}): Promise<{ media: MediaService; close(): Promise<void> }> {
  const { config, logger, store, realtime, clock } = deps;
  const settings = config.media;
  const s3 = settings.s3 ? new S3BlobStore({ settings: settings.s3 }) : undefined;
  const blobs: BlobStore = s3
    ? s3
    : deps.redis
      ? new UnavailableBlobStore()
      : new FsBlobStore({ directory: settings.filesDir });
  if (!settings.s3 && deps.redis) logger.warn('no S3_BUCKET: uploads are unavailable on this cluster');

  let jobs: JobQueue & { close(): Promise<void> };
  if (deps.redis) {
    jobs = new BullMqJobQueue({
      url: deps.redis.url,
      keyPrefix: deps.redis.keyPrefix,
      nodeId: config.nodeId,
      timeoutMs: deps.redis.commandTimeoutMs,
      logger,
    });
  } else {
    const local = new InProcessJobQueue({ logger, concurrency: config.thumbnails.concurrency });
    local.start(
      mediaJobHandlers({
        store,
        blobs,
        images: new SharpImageProcessor({ maxInputPixels: config.thumbnails.maxInputPixels, threads: config.thumbnails.sharpThreads }),
        realtime,
        queue: local,
        clock,
        logger,
        settings: { unattachedTtlMs: settings.unattachedTtlMs },
      }),
    );
    jobs = local;
  }
  // Every pod schedules the sweep: the schedule is one per queue, whoever sets it.
  await jobs.schedule('sweep-files', {}, settings.sweepIntervalMs).catch((error: unknown) => {
    logger.warn({ err: error }, 'could not schedule the file sweep; the next start will');
  });
  const media = new MediaService({
    store,
    blobs,
    queue: jobs,
    access: deps.access,
    clock,
    settings: { maxUploadBytes: settings.maxUploadBytes, quotaBytes: settings.quotaBytes, urlTtlSeconds: settings.urlTtlSeconds },
  });
  return {
    media,
    close: async () => {
      await jobs.close();
      s3?.close();
    },
  };
}
