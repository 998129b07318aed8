import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobTooLarge, type BlobStore, type DownloadOptions } from '../../domain/media/blob-store.ts';

export interface FsBlobStoreOptions {
  /** The store's root (`DATA_DIR/files`); created as needed. */
  readonly directory: string;
}

/**
 * Objects as files under one directory, for the embedded node: a key's
 * `/`-separated segments are its path. A write goes to a temporary file beside
 * its target and is renamed over it when complete, so a reader sees the whole
 * object or none. Clients never reach the files: the pod streams them.
 */
export class FsBlobStore implements BlobStore {
  readonly #directory: string;

  constructor({ directory }: FsBlobStoreOptions) {
    this.#directory = path.resolve(directory);
  }

  async put(key: string, body: Readable | Buffer, options: { contentType: string; maxBytes: number }): Promise<{ size: number }> {
    const target = this.#pathOf(key);
    if (Buffer.isBuffer(body) && body.length > options.maxBytes) throw new BlobTooLarge(options.maxBytes);
    const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.tmp`);
    const file = await this.#create(temporary);
    let size = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (size > options.maxBytes) callback(new BlobTooLarge(options.maxBytes));
        else callback(null, chunk);
      },
    });
    try {
      const source = Buffer.isBuffer(body) ? Readable.from([body], { objectMode: false }) : body;
      // flush: the bytes are on disk before the rename makes them the object.
      await pipeline(source, counted, file.createWriteStream({ flush: true }));
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    return { size };
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      const stats = await stat(this.#pathOf(key));
      return stats.isFile() ? { size: stats.size } : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async get(key: string, options: { length?: number } = {}): Promise<Readable | undefined> {
    const file = await this.#open(key);
    if (!file) return undefined;
    const { length } = options;
    if (length !== undefined && length <= 0) {
      await file.close();
      return Readable.from([]);
    }
    // The stream closes the file when it ends or is destroyed.
    return file.createReadStream(length === undefined ? {} : { start: 0, end: length - 1 });
  }

  async delete(keys: readonly string[]): Promise<void> {
    const files = keys.map((key) => this.#pathOf(key));
    for (const file of files) {
      try {
        await unlink(file);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
      await this.#removeEmptyFolders(path.dirname(file));
    }
  }

  async presignGet(_key: string, _options: DownloadOptions): Promise<undefined> {
    return undefined;
  }

  async presignPost(_key: string, _options: { maxBytes: number; expiresInSeconds: number }): Promise<undefined> {
    return undefined;
  }

  /** The key's file; throws when the key is not a plain relative path inside the directory. */
  #pathOf(key: string): string {
    const segments = key.split('/');
    if (segments.some((segment) => segment === '' || segment === '.' || segment === '..' || /[\\\0]/.test(segment))) {
      throw new Error(`Not an object key: ${JSON.stringify(key)}`);
    }
    const file = path.join(this.#directory, ...segments);
    if (!file.startsWith(this.#directory + path.sep)) throw new Error(`Not an object key: ${JSON.stringify(key)}`);
    return file;
  }

  /** Opens the key's file for reading; undefined when there is none. */
  async #open(key: string): Promise<FileHandle | undefined> {
    const file = this.#pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if ((await handle.stat()).isFile()) return handle;
    await handle.close();
    return undefined;
  }

  /** Creates `file` and its folders; a `delete` may remove an emptied folder in between, so this tries again. */
  async #create(file: string): Promise<FileHandle> {
    for (let attempt = 1; ; attempt++) {
      await mkdir(path.dirname(file), { recursive: true });
      try {
        return await open(file, 'wx');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw error;
      }
    }
  }

  /** Removes `folder` and its parents up to the root while they are empty (thumbnails get a folder per file). */
  async #removeEmptyFolders(folder: string): Promise<void> {
    for (let current = folder; current.startsWith(this.#directory + path.sep); current = path.dirname(current)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty, or already gone
      }
    }
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
