import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * The two multipart operations s3rver 3.7 lacks (AbortMultipartUpload answers
 * 405, ListMultipartUploads 501), over its own files: it keeps an open upload
 * in `<directory>/<bucket>/._S3rver_uploads/<uploadId>/` with the key in
 * `key` and one file per part, and removes the folder on completion.
 */
export class S3rverUploads {
  readonly #directory: string;

  constructor(directory: string) {
    this.#directory = directory;
  }

  /** The open uploads of `bucket` whose key starts with `prefix`. */
  async list(bucket: string, prefix = ''): Promise<Array<{ key: string; uploadId: string; initiated: Date }>> {
    const root = this.#uploadsOf(bucket);
    let ids: string[];
    try {
      ids = await readdir(root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const uploads = await Promise.all(
      ids.map(async (uploadId) => {
        const key = await readFile(path.join(root, uploadId, 'key'), 'utf8').catch(() => undefined);
        if (key === undefined || !key.startsWith(prefix)) return undefined;
        return { key, uploadId, initiated: (await stat(path.join(root, uploadId))).birthtime };
      }),
    );
    return uploads.filter((upload) => upload !== undefined).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Removes the upload and its parts; false when `bucket` holds no such upload of `key`. */
  async abort(bucket: string, key: string, uploadId: string): Promise<boolean> {
    if (!/^[0-9a-f]+$/.test(uploadId)) return false;
    const folder = path.join(this.#uploadsOf(bucket), uploadId);
    const storedKey = await readFile(path.join(folder, 'key'), 'utf8').catch(() => undefined);
    if (storedKey !== key) return false;
    await rm(folder, { recursive: true, force: true });
    return true;
  }

  #uploadsOf(bucket: string): string {
    return path.join(this.#directory, bucket, '._S3rver_uploads');
  }
}

/** The ListMultipartUploads answer (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html). */
export function listMultipartUploadsXml(bucket: string, prefix: string, uploads: ReadonlyArray<{ key: string; uploadId: string; initiated: Date }>): string {
  const entries = uploads.map(
    (upload) =>
      `<Upload><Key>${xml(upload.key)}</Key><UploadId>${upload.uploadId}</UploadId>` +
      `<Initiated>${upload.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
  );
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Bucket>${xml(bucket)}</Bucket><Prefix>${xml(prefix)}</Prefix><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
    `<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${entries.join('')}</ListMultipartUploadsResult>`
  );
}

/** An S3 error answer. */
export function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error>`;
}

function xml(value: string): string {
  return value.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}
