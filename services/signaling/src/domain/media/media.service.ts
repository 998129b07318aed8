import { randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { FilePurpose, FileRow } from '@parley/db';
import type { FileInfo, PresignedUpload, PresignUploadRequest, UploadResult } from '@parley/protocol';
import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import type { Actor } from '../accounts/actor.ts';
import type { ChannelAccess } from '../communities/access/channel-access.ts';
import type { Store } from '../store.ts';
import { BlobTooLarge, type BlobStore } from './blob-store.ts';
import { cleanFileName, dispositionOf, makesThumbnails, sniffContentType, SNIFF_BYTES } from './content-type.ts';
import { toFileInfo } from './file.mappers.ts';
import { THUMBNAIL_SIZES, type ThumbnailSize } from './image-processor.ts';
import type { JobQueue } from './job-queue.ts';
import { objectKeys } from './object-keys.ts';

export interface MediaSettings {
  maxUploadBytes: number;
  quotaBytes: number;
  urlTtlSeconds: number;
}

/** One file of a multipart upload, as the transport hands it over: its name and its bytes, still streaming. */
export interface IncomingFile {
  name: string;
  body: Readable;
}

/** What a download answers: a short-lived URL of the store itself, or the bytes through the pod. */
export type Download =
  | { redirect: string }
  | { body: Readable; contentType: string; size: number; fileName: string; disposition: 'inline' | 'attachment' };

/** An upload whose bytes did not arrive whole: the client's failure, refused as such. */
function notWhole(cause: unknown): AppError {
  return new AppError('invalid_payload', 'The file did not arrive whole (the body was cut off or malformed)', { cause });
}

export type FileVariant = 'original' | `${ThumbnailSize}`;

/**
 * Uploads and downloads. Bytes stream straight to the blob store, never
 * whole in memory; their type is sniffed from the bytes, their key comes
 * from the id. A file becomes a row only once its bytes are stored and
 * within the limits, so a refused upload leaves neither row nor object.
 */
export class MediaService {
  readonly #store: Store;
  readonly #blobs: BlobStore;
  readonly #queue: JobQueue;
  readonly #access: ChannelAccess;
  readonly #clock: Clock;
  readonly #settings: MediaSettings;

  constructor(deps: { store: Store; blobs: BlobStore; queue: JobQueue; access: ChannelAccess; clock: Clock; settings: MediaSettings }) {
    this.#store = deps.store;
    this.#blobs = deps.blobs;
    this.#queue = deps.queue;
    this.#access = deps.access;
    this.#clock = deps.clock;
    this.#settings = deps.settings;
  }

  /**
   * Stores an upload (the Gryt seed's `POST /api/uploads`) and, for an
   * image, queues its thumbnails. Throws `payload_too_large` (past
   * `UPLOAD_MAX_BYTES`), `quota_exceeded`, `invalid_payload` (an empty file),
   * `invalid_file` (an avatar or icon that is not an image).
   */
  async upload(actor: Actor, purpose: FilePurpose, file: IncomingFile): Promise<UploadResult> {
    const { maxBytes, quotaBound } = await this.#room(actor.userId);
    const id = randomUUID();
    const { size, head } = await this.#storeBody(objectKeys.original(id), file.body, maxBytes, quotaBound);
    try {
      const stored = await this.#accept(id, { size, head, purpose });
      const row = await this.#store.repos.files.create({
        id,
        ownerId: actor.userId,
        name: cleanFileName(file.name),
        purpose,
        status: stored.status,
        size,
        contentType: stored.contentType,
      });
      await this.#queueThumbnails(row);
      return this.#uploadResult(row);
    } catch (error) {
      await this.#blobs.delete([objectKeys.original(id)]);
      throw error;
    }
  }

  /**
   * Announces a direct upload: the file is `pending` until `complete`. The
   * URL takes at most `size` bytes. Throws `payload_too_large`, `quota_exceeded`.
   */
  async presign(actor: Actor, input: PresignUploadRequest): Promise<PresignedUpload> {
    const { maxBytes, quotaBound } = await this.#room(actor.userId);
    if (input.size > maxBytes) throw new AppError(quotaBound && input.size <= this.#settings.maxUploadBytes ? 'quota_exceeded' : 'payload_too_large');
    const id = randomUUID();
    const expiresInSeconds = this.#settings.urlTtlSeconds;
    const upload = await this.#blobs.presignPost(objectKeys.original(id), { maxBytes: input.size, expiresInSeconds });
    await this.#store.repos.files.create({
      id,
      ownerId: actor.userId,
      name: cleanFileName(input.name),
      purpose: input.purpose ?? 'attachment',
      status: 'pending',
      declaredSize: input.size,
    });
    return {
      fileId: id,
      // A store that cannot take uploads from clients (embedded): they go through the pod.
      url: upload?.url ?? `/api/uploads/${id}`,
      fields: upload?.fields ?? {},
      expiresAt: new Date(this.#clock.now().getTime() + expiresInSeconds * 1000).toISOString(),
    };
  }

  /** The bytes of a presigned upload, through the pod (embedded stores). Then completes it. Throws as `complete` does. */
  async receivePresigned(actor: Actor, fileId: string, file: IncomingFile): Promise<FileInfo> {
    const row = await this.#pending(actor, fileId);
    await this.#storeBody(objectKeys.original(fileId), file.body, row.declared_size ?? 0, false);
    return this.complete(actor, fileId);
  }

  /**
   * Makes a presigned upload usable once its bytes are stored and within the
   * size it announced; an upload that overshot is removed. Throws
   * `file_not_found`, `upload_incomplete`, `payload_too_large`,
   * `invalid_payload` (empty), `invalid_file` (an avatar or icon that is not an image).
   */
  async complete(actor: Actor, fileId: string): Promise<FileInfo> {
    const row = await this.#pending(actor, fileId);
    const key = objectKeys.original(fileId);
    const stored = await this.#blobs.head(key);
    if (!stored) throw new AppError('upload_incomplete');
    const refuse = async (error: AppError) => {
      await this.#store.repos.files.delete(fileId);
      await this.#blobs.delete([key]);
      throw error;
    };
    if (stored.size === 0) return refuse(new AppError('invalid_payload', 'The file is empty'));
    if (stored.size > (row.declared_size ?? 0) || stored.size > this.#settings.maxUploadBytes) {
      return refuse(new AppError('payload_too_large', `The upload is larger than the ${row.declared_size} bytes it announced`));
    }
    let accepted;
    try {
      accepted = await this.#accept(fileId, { size: stored.size, head: await this.#head(key), purpose: row.purpose });
    } catch (error) {
      return refuse(error as AppError);
    }
    const done = await this.#store.repos.files.markStored(fileId, { size: stored.size, ...accepted });
    if (!done) throw new AppError('file_not_found');
    await this.#queueThumbnails(done);
    return toFileInfo(done);
  }

  /** A file's description, to whoever may read it (see `download`). Throws `file_not_found`. */
  async info(viewerId: string | undefined, fileId: string): Promise<FileInfo> {
    return toFileInfo(await this.#readable(viewerId, fileId));
  }

  /**
   * The original or a thumbnail, to its owner; to anyone for an avatar or the
   * icon of a discoverable community; to members of the community for another
   * icon; to members who can read a channel where it is attached for an
   * attachment. Everyone else gets `file_not_found`, as for an unknown id.
   */
  async download(viewerId: string | undefined, fileId: string, variant: FileVariant = 'original'): Promise<Download> {
    const file = await this.#readable(viewerId, fileId);
    const thumbnail = variant === 'original' ? undefined : (Number(variant) as ThumbnailSize);
    if (thumbnail !== undefined && (!file.thumbnails || !THUMBNAIL_SIZES.includes(thumbnail))) throw new AppError('file_not_found');
    const key = thumbnail === undefined ? objectKeys.original(fileId) : objectKeys.thumbnail(fileId, thumbnail);
    const contentType = thumbnail === undefined ? file.content_type : 'image/webp';
    const fileName = thumbnail === undefined ? file.name : `${file.name}.${thumbnail}.webp`;
    const disposition = dispositionOf(contentType);
    const redirect = await this.#blobs.presignGet(key, {
      fileName,
      contentType,
      disposition,
      expiresInSeconds: this.#settings.urlTtlSeconds,
    });
    if (redirect) return { redirect };
    const body = await this.#blobs.get(key);
    if (!body) throw new AppError('file_not_found');
    return { body, contentType, size: thumbnail === undefined ? file.size : (await this.#blobs.head(key))?.size ?? 0, fileName, disposition };
  }

  /** How many bytes the actor may still upload, and whether the quota (not `UPLOAD_MAX_BYTES`) sets that bound. */
  async #room(userId: string): Promise<{ maxBytes: number; quotaBound: boolean }> {
    const left = this.#settings.quotaBytes - (await this.#store.repos.files.usedBytes(userId));
    if (left <= 0) throw new AppError('quota_exceeded');
    return { maxBytes: Math.min(left, this.#settings.maxUploadBytes), quotaBound: left < this.#settings.maxUploadBytes };
  }

  /** Streams a body into `key`, keeping its first bytes for sniffing. Throws `payload_too_large` or `quota_exceeded` past `maxBytes`. */
  async #storeBody(key: string, body: Readable, maxBytes: number, quotaBound: boolean): Promise<{ size: number; head: Buffer }> {
    // The body may have failed while this upload waited on the database (a form cut off).
    if (body.errored || body.destroyed) throw notWhole(body.errored);
    const head: Buffer[] = [];
    let kept = 0;
    const sniffer = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (kept < SNIFF_BYTES) {
          head.push(chunk.subarray(0, SNIFF_BYTES - kept));
          kept += Math.min(chunk.length, SNIFF_BYTES - kept);
        }
        done(null, chunk);
      },
    });
    body.once('error', (error) => sniffer.destroy(error));
    body.pipe(sniffer);
    try {
      const { size } = await this.#blobs.put(key, sniffer, { contentType: 'application/octet-stream', maxBytes });
      return { size, head: Buffer.concat(head) };
    } catch (error) {
      body.unpipe(sniffer);
      body.resume();
      // The client's bytes failed (cut off, a malformed form), not the store.
      if (body.errored) throw notWhole(body.errored);
      if (error instanceof BlobTooLarge) {
        throw quotaBound ? new AppError('quota_exceeded') : new AppError('payload_too_large', `A file may be at most ${maxBytes} bytes`);
      }
      throw error;
    }
  }

  /** The first bytes of a stored object, for sniffing. */
  async #head(key: string): Promise<Buffer> {
    const body = await this.#blobs.get(key, { length: SNIFF_BYTES });
    if (!body) throw new AppError('upload_incomplete');
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** The type and status of stored bytes; refuses an empty file, and an avatar or icon that is no image. */
  async #accept(
    _fileId: string,
    stored: { size: number; head: Buffer; purpose: FilePurpose },
  ): Promise<{ contentType: string; status: 'processing' | 'ready' }> {
    if (stored.size === 0) throw new AppError('invalid_payload', 'The file is empty');
    const contentType = await sniffContentType(stored.head);
    const image = makesThumbnails(contentType);
    if (stored.purpose !== 'attachment' && !image) throw new AppError('invalid_file', `An ${stored.purpose} must be an image`);
    return { contentType, status: image ? 'processing' : 'ready' };
  }

  async #queueThumbnails(file: FileRow): Promise<void> {
    // Job id = file id: enqueued twice, it runs once. A job lost here is enqueued again by the sweep.
    if (file.status === 'processing') await this.#queue.enqueue('thumbnail', { fileId: file.id }, { jobId: file.id }).catch(() => {});
  }

  #uploadResult(row: FileRow): UploadResult {
    const image = row.status === 'processing';
    return {
      fileId: row.id,
      key: objectKeys.original(row.id),
      thumbnailKey: image ? objectKeys.thumbnail(row.id, THUMBNAIL_SIZES.at(-1)!) : null,
      file: toFileInfo(row),
    };
  }

  /** The actor's own pending upload. Throws `file_not_found`. */
  async #pending(actor: Actor, fileId: string): Promise<FileRow> {
    const [row] = await this.#store.repos.files.listOwned(actor.userId, [fileId]);
    if (row?.status !== 'pending') throw new AppError('file_not_found');
    return row;
  }

  /** The file, when `viewerId` may read it (see `download`). Throws `file_not_found`. */
  async #readable(viewerId: string | undefined, fileId: string): Promise<FileRow> {
    const file = await this.#store.repos.files.get(fileId);
    if (!file || file.status === 'pending') throw new AppError('file_not_found');
    if (file.owner_id === viewerId || file.purpose === 'avatar') return file;
    const repos = this.#store.repos;
    if (file.purpose === 'icon') {
      const communities = await repos.files.listIconOf(fileId);
      if (communities.some((community) => community.discoverable)) return file;
      if (viewerId) {
        const memberships = new Set((await repos.members.listMemberships(viewerId)).map((membership) => membership.server_id));
        if (communities.some((community) => memberships.has(community.serverId))) return file;
      }
      throw new AppError('file_not_found');
    }
    if (viewerId) {
      for (const { channelId } of await repos.files.listAttachments(fileId)) {
        const readable = await this.#access.requireTextChannel(viewerId, channelId, 'view_channels').then(
          () => true,
          () => false,
        );
        if (readable) return file;
      }
    }
    throw new AppError('file_not_found');
  }
}
