import type { FileRow } from '@parley/db';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../logger.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';
import type { Store } from '../store.ts';
import type { BlobStore } from './blob-store.ts';
import { toFileInfo } from './file.mappers.ts';
import { ImageRejected, THUMBNAIL_SIZES, type ImageProcessor } from './image-processor.ts';
import type { JobHandlers, JobQueue } from './job-queue.ts';
import { objectKeys } from './object-keys.ts';

/** Files removed per sweep batch: a statement of bounded size, repeated while there is more. */
const SWEEP_BATCH = 500;
/** A file still processing this long after its upload has lost its job: it is enqueued again. */
const STUCK_PROCESSING_MS = 10 * 60 * 1000;

export interface MediaJobDeps {
  store: Store;
  blobs: BlobStore;
  images: ImageProcessor;
  realtime: Realtime;
  queue: JobQueue;
  clock: Clock;
  logger: Logger;
  settings: { unattachedTtlMs: number };
}

/**
 * The media jobs, the same in the worker and in an embedded node. Each is
 * idempotent: a thumbnail job writes the same keys and finishes its file
 * with one guarded update, however often it runs (retries, a worker that
 * died mid-job), and announces only the run whose update took effect.
 */
export function mediaJobHandlers(deps: MediaJobDeps): JobHandlers {
  const log = deps.logger.child({ module: 'media.jobs' });
  const repos = deps.store.repos;

  /** Tells the uploader's devices, and the channels the file is attached in, how it ended. */
  async function announce(file: FileRow): Promise<void> {
    const info = toFileInfo(file);
    deps.realtime.emit(rooms.user(file.owner_id), file.status === 'ready' ? 'file:ready' : 'file:failed', info);
    for (const { channelId, messageId } of await repos.files.listAttachments(file.id)) {
      deps.realtime.emit(rooms.channel(channelId), 'chat:attachment', { conversationId: channelId, messageId, attachment: info });
    }
  }

  async function fail(fileId: string, reason: string): Promise<void> {
    const failed = await repos.files.markFailed(fileId, reason);
    if (failed) await announce(failed);
  }

  return {
    async thumbnail({ fileId }, run) {
      const file = await repos.files.get(fileId);
      if (file?.status !== 'processing') return;
      try {
        const original = await deps.blobs.get(objectKeys.original(fileId));
        if (!original) return await fail(fileId, 'missing_original');
        const image = await deps.images.process(original);
        for (const thumbnail of image.thumbnails) {
          await deps.blobs.put(objectKeys.thumbnail(fileId, thumbnail.size), thumbnail.data, {
            contentType: 'image/webp',
            maxBytes: thumbnail.data.length,
          });
        }
        const ready = await repos.files.markReady(fileId, { width: image.width, height: image.height, placeholder: image.placeholder });
        if (ready) await announce(ready);
      } catch (error) {
        if (error instanceof ImageRejected) return await fail(fileId, error.reason);
        if (run.finalAttempt) await fail(fileId, 'processing_failed');
        throw error;
      }
    },

    async 'sweep-files'() {
      const now = deps.clock.now().getTime();
      let removed = 0;
      for (;;) {
        const ids = await repos.files.deleteUnused(new Date(now - deps.settings.unattachedTtlMs), SWEEP_BATCH);
        const keys = ids.flatMap((id) => [objectKeys.original(id), ...THUMBNAIL_SIZES.map((size) => objectKeys.thumbnail(id, size))]);
        await deps.blobs.delete(keys);
        removed += ids.length;
        if (ids.length < SWEEP_BATCH) break;
      }
      const stuck = await repos.files.listStuckProcessing(new Date(now - STUCK_PROCESSING_MS), SWEEP_BATCH);
      for (const fileId of stuck) await deps.queue.enqueue('thumbnail', { fileId }, { jobId: fileId });
      if (removed > 0 || stuck.length > 0) log.info({ removed, requeued: stuck.length }, 'swept files');
    },
  };
}
