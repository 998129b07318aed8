import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { getS3, type S3Service } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../src/adapters/fs/blob-store.ts';
import { S3BlobStore } from '../src/adapters/s3/blob-store.ts';
import type { S3Settings } from '../src/config.ts';
import { BlobTooLarge, type BlobStore } from '../src/domain/media/blob-store.ts';
import { eventually } from './support/users.ts';

const MiB = 1024 * 1024;
/** lib-storage's part: past it an S3 upload is multipart. */
const PART = 5 * MiB;

interface Subject {
  readonly store: BlobStore;
  /** What a cut write could leave behind under `key`: open multipart uploads (S3), temporary files (FS). */
  leftovers(key: string): Promise<string[]>;
}

let s3: S3Service;
let s3Admin: S3Client;
let fsDirectory: string;
const stores: S3BlobStore[] = [];

function s3Settings(overrides: Partial<S3Settings> = {}): S3Settings {
  return {
    bucket: s3.bucket,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    endpoint: s3.endpoint,
    publicEndpoint: s3.endpoint,
    forcePathStyle: s3.forcePathStyle,
    ...overrides,
  };
}
function s3Store(overrides: Partial<S3Settings> = {}): S3BlobStore {
  const store = new S3BlobStore({ settings: s3Settings(overrides) });
  stores.push(store);
  return store;
}

beforeAll(async () => {
  s3 = await getS3();
  s3Admin = new S3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: s3.forcePathStyle, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  fsDirectory = await mkdtemp(path.join(tmpdir(), 'parley-blobs-'));
});
afterAll(async () => {
  for (const store of stores) store.close();
  s3Admin?.destroy();
  await s3?.stop();
  if (fsDirectory) await rm(fsDirectory, { recursive: true, force: true });
});

const subjects: Array<[string, () => Subject]> = [
  [
    'fs (embedded)',
    () => ({
      store: new FsBlobStore({ directory: path.join(fsDirectory, 'files') }),
      leftovers: async (key) => {
        const target = path.join(fsDirectory, 'files', ...key.split('/'));
        const names = await readdir(path.dirname(target)).catch(() => []);
        return names.filter((name) => name.startsWith(`.${path.basename(target)}.`));
      },
    }),
  ],
  [
    's3 (cluster)',
    () => ({
      store: s3Store(),
      leftovers: async (key) => {
        const listed = await s3Admin.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: key }));
        return (listed.Uploads ?? []).filter((upload) => upload.Key === key).map((upload) => upload.UploadId ?? '');
      },
    }),
  ],
];

const newKey = () => `files/${randomUUID()}`;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const text = { contentType: 'text/plain', maxBytes: 10 * MiB };

async function read(store: BlobStore, key: string, options?: { length?: number }): Promise<Buffer | undefined> {
  const stream = await store.get(key, options);
  return stream && buffer(stream);
}

function* chunksOf(data: Buffer, chunkBytes = 64 * 1024): Generator<Buffer> {
  for (let offset = 0; offset < data.length; offset += chunkBytes) yield data.subarray(offset, offset + chunkBytes);
}

/** `data` in chunks, as a stream whose length nobody knows in advance. */
function streamOf(data: Buffer, chunkBytes?: number): Readable {
  return Readable.from(chunksOf(data, chunkBytes));
}

/** A body that never ends; `produced()` says how much of it was read. */
function endless(): { body: Readable; produced: () => number } {
  let produced = 0;
  const chunk = randomBytes(16 * 1024);
  const body = Readable.from(
    (function* () {
      for (;;) {
        produced += chunk.length;
        yield chunk;
      }
    })(),
  );
  return { body, produced: () => produced };
}

/** `bytes` of a body, then the failure `error`. */
function failingAfter(bytes: number, error: Error): Readable {
  const data = randomBytes(bytes);
  return Readable.from(
    (function* () {
      yield* chunksOf(data);
      throw error;
    })(),
  );
}

describe.each(subjects)('blob store: %s', (_name, makeSubject) => {
  let subject: Subject;
  let store: BlobStore;
  beforeAll(() => {
    subject = makeSubject();
    store = subject.store;
  });

  it('stores a body and gives back its size, its bytes, and its first bytes', async () => {
    const key = newKey();
    const body = Buffer.from('hello, blob store');
    expect(await store.put(key, body, text)).toEqual({ size: body.length });
    expect(await store.head(key)).toEqual({ size: body.length });
    expect(await read(store, key)).toEqual(body);
    expect((await read(store, key, { length: 5 }))?.toString()).toBe('hello');
    // bytes=0-0: s3rver ignores this range and sends everything; the store still gives one byte.
    expect((await read(store, key, { length: 1 }))?.toString()).toBe('h');
    expect(await read(store, key, { length: 0 })).toEqual(Buffer.alloc(0));
    expect(await read(store, key, { length: 1000 })).toEqual(body);
  });

  it('stores an empty body', async () => {
    const key = newKey();
    expect(await store.put(key, Buffer.alloc(0), text)).toEqual({ size: 0 });
    expect(await store.head(key)).toEqual({ size: 0 });
    expect(await read(store, key)).toEqual(Buffer.alloc(0));
  });

  it('answers undefined for a key that holds nothing', async () => {
    const key = newKey();
    expect(await store.head(key)).toBeUndefined();
    expect(await store.get(key)).toBeUndefined();
    expect(await store.get(key, { length: 10 })).toBeUndefined();
  });

  it('streams a body of unknown length over several parts', async () => {
    const key = newKey();
    const body = randomBytes(2 * PART + 123);
    expect(await store.put(key, streamOf(body), { contentType: 'application/octet-stream', maxBytes: 3 * PART })).toEqual({ size: body.length });
    expect(await store.head(key)).toEqual({ size: body.length });
    expect(sha256((await read(store, key))!)).toBe(sha256(body));
    expect(await read(store, key, { length: 4100 })).toEqual(body.subarray(0, 4100));
    expect(await subject.leftovers(key)).toEqual([]);
  });

  it('takes a body of exactly maxBytes', async () => {
    const key = newKey();
    expect(await store.put(key, streamOf(randomBytes(1000), 100), { contentType: 'text/plain', maxBytes: 1000 })).toEqual({ size: 1000 });
    expect(await store.head(key)).toEqual({ size: 1000 });
  });

  it('cuts a stream that grows past maxBytes beyond one part: BlobTooLarge, and nothing stored', async () => {
    const key = newKey();
    const maxBytes = PART + MiB;
    const { body, produced } = endless();
    await expect(store.put(key, body, { contentType: 'video/mp4', maxBytes })).rejects.toBeInstanceOf(BlobTooLarge);
    expect(await store.head(key)).toBeUndefined();
    expect(await store.get(key)).toBeUndefined();
    expect(await subject.leftovers(key)).toEqual([]);
    // It stopped reading the body: not much more than maxBytes came out of it.
    expect(produced()).toBeLessThan(maxBytes + MiB);
    expect(body.destroyed).toBe(true);
  });

  it('refuses small bodies past maxBytes, as a buffer or a stream', async () => {
    const fromBuffer = newKey();
    await expect(store.put(fromBuffer, randomBytes(101), { contentType: 'text/plain', maxBytes: 100 })).rejects.toBeInstanceOf(BlobTooLarge);
    const fromStream = newKey();
    await expect(store.put(fromStream, streamOf(randomBytes(101), 10), { contentType: 'text/plain', maxBytes: 100 })).rejects.toBeInstanceOf(BlobTooLarge);
    for (const key of [fromBuffer, fromStream]) {
      expect(await store.head(key)).toBeUndefined();
      expect(await subject.leftovers(key)).toEqual([]);
    }
  });

  it('keeps the object a refused write meant to replace', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('first'), text);
    await expect(store.put(key, endless().body, { contentType: 'text/plain', maxBytes: PART + MiB })).rejects.toBeInstanceOf(BlobTooLarge);
    expect((await read(store, key))?.toString()).toBe('first');
    expect(await subject.leftovers(key)).toEqual([]);
  });

  it.each([
    ['within the first part', 1000],
    ['past the first part', PART + MiB],
  ])('rejects with the error of a body that fails %s, storing nothing', async (_when, bytes) => {
    const key = newKey();
    const failure = new Error('connection reset by the client');
    await expect(store.put(key, failingAfter(bytes, failure), text)).rejects.toBe(failure);
    expect(await store.head(key)).toBeUndefined();
    expect(await subject.leftovers(key)).toEqual([]);
  });

  it('rejects when the body is aborted half-way, storing nothing', async () => {
    const key = newKey();
    const body = new Readable({ read() {} });
    body.push(randomBytes(PART + MiB));
    const putting = store.put(key, body, text);
    setImmediate(() => body.destroy());
    await expect(putting).rejects.toThrow();
    expect(await store.head(key)).toBeUndefined();
    expect(await subject.leftovers(key)).toEqual([]);
  });

  it('deletes objects, in batches past 1000 keys, ignoring keys that hold nothing', async () => {
    const [first, last] = [newKey(), newKey()];
    await store.put(first, Buffer.from('1'), text);
    await store.put(last, Buffer.from('2'), text);
    const missing = Array.from({ length: 1000 }, newKey);
    await store.delete([first, ...missing, last]);
    expect(await store.head(first)).toBeUndefined();
    expect(await store.head(last)).toBeUndefined();
    await store.delete([first, last]);
    await store.delete([]);
  });
});

describe('blob store: fs (embedded) only', () => {
  let store: FsBlobStore;
  beforeAll(() => {
    store = new FsBlobStore({ directory: path.join(fsDirectory, 'fs-only', 'files') });
  });

  it('serves downloads and takes uploads itself: no presigned URLs', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('x'), text);
    expect(await store.presignGet(key, { fileName: 'x.txt', contentType: 'text/plain', disposition: 'attachment', expiresInSeconds: 60 })).toBeUndefined();
    expect(await store.presignPost(key, { maxBytes: 10, expiresInSeconds: 60 })).toBeUndefined();
  });

  it.each(['../escape', 'files/../../escape', '/etc/passwd', 'files//x', 'files/./x', 'files/..', 'a\\..\\..\\b', ''])(
    'refuses the key %j',
    async (key) => {
      await expect(store.put(key, Buffer.from('x'), text)).rejects.toThrow(/Not an object key/);
      await expect(store.head(key)).rejects.toThrow(/Not an object key/);
      await expect(store.get(key)).rejects.toThrow(/Not an object key/);
      await expect(store.delete([key])).rejects.toThrow(/Not an object key/);
      expect(await readdir(path.join(fsDirectory, 'fs-only'))).toEqual(['files']);
    },
  );

  it('removes the folders a delete empties, and no more', async () => {
    const thumb = `thumbs/${randomUUID()}/256.webp`;
    const kept = newKey();
    await store.put(thumb, Buffer.from('webp'), { contentType: 'image/webp', maxBytes: 100 });
    await store.put(kept, Buffer.from('kept'), text);
    await store.delete([thumb]);
    expect(await readdir(path.join(fsDirectory, 'fs-only', 'files'))).toEqual(['files']);
    expect(await store.head(kept)).toEqual({ size: 4 });
  });
});

describe('blob store: s3 (cluster) only', () => {
  let store: S3BlobStore;
  let publicHost: string;
  beforeAll(() => {
    // Clients reach the local server under another name than pods do.
    const publicEndpoint = s3.source === 'local' ? s3.endpoint.replace('127.0.0.1', 'localhost') : s3.endpoint;
    publicHost = new URL(publicEndpoint).hostname;
    store = s3Store({ publicEndpoint });
  });
  const download = { contentType: 'application/pdf', disposition: 'attachment' as const, expiresInSeconds: 300 };

  it('signs downloads for the public endpoint, with the name and type asked, whatever the name holds', async () => {
    const key = newKey();
    const body = randomBytes(2000);
    await store.put(key, body, { contentType: 'application/octet-stream', maxBytes: 10_000 });
    const hostile = 'Ré"sumé\r\nSet-Cookie: a=b; \u202Efdp.exe 日本\\.pdf';
    const url = (await store.presignGet(key, { ...download, fileName: hostile }))!;
    expect(new URL(url).hostname).toBe(publicHost);

    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(body);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.has('set-cookie')).toBe(false);
    const disposition = response.headers.get('content-disposition') ?? '';
    const match = /^attachment; filename="([\x20-\x7e]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/.exec(disposition);
    expect(match, disposition).not.toBeNull();
    expect(match![1]).not.toMatch(/["\\]/);
    expect(match![1]).toBe('Re_sumeSet-Cookie: a=b_ fdp.exe ___.pdf');
    expect(decodeURIComponent(match![2]!)).toBe('Ré"suméSet-Cookie: a=b; fdp.exe 日本\\.pdf');
  });

  it('serves a malformed content type as application/octet-stream, and inline only when asked', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('<svg/>'), { contentType: 'image/svg+xml', maxBytes: 100 });
    const url = (await store.presignGet(key, { ...download, fileName: 'a.png', contentType: 'text/html\r\nX-Injected: 1', disposition: 'inline' }))!;
    const response = await fetch(url);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.has('x-injected')).toBe(false);
    expect(response.headers.get('content-disposition')).toBe(`inline; filename="a.png"; filename*=UTF-8''a.png`);
  });

  it('refuses a download URL once it expired', async () => {
    const key = newKey();
    await store.put(key, Buffer.from('soon gone'), text);
    const url = (await store.presignGet(key, { ...download, fileName: 'a.txt', expiresInSeconds: 1 }))!;
    await eventually(async () => (await fetch(url)).status === 403, 10_000, 'the URL expiring');
  });

  it('refuses a download URL that was tampered with', async () => {
    const [key, other] = [newKey(), newKey()];
    await store.put(key, Buffer.from('mine'), text);
    await store.put(other, Buffer.from('someone else'), text);
    const url = (await store.presignGet(key, { ...download, fileName: 'a.txt' }))!;
    expect((await fetch(url)).status).toBe(200);

    // Each changes one thing in the URL as signed, leaving the rest byte for byte.
    const signature = new URL(url).searchParams.get('X-Amz-Signature')!;
    const forged = url.replace(signature, `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`);
    const otherObject = url.replace(`/${key}?`, `/${other}?`);
    const otherType = url.replace('response-content-type=application%2Fpdf', 'response-content-type=text%2Fhtml');
    const unsigned = url.slice(0, url.indexOf('?'));
    expect(new Set([url, forged, otherObject, otherType, unsigned]).size).toBe(5);
    for (const tampered of [forged, otherObject, otherType, unsigned]) {
      const response = await fetch(tampered);
      expect(response.status, tampered).toBe(403);
      await response.body?.cancel();
    }
  });

  it('signs a form upload that stores the file, limited to 1..maxBytes and this key', async () => {
    const key = newKey();
    const maxBytes = 4096;
    const post = (await store.presignPost(key, { maxBytes, expiresInSeconds: 300 }))!;
    expect(new URL(post.url).hostname).toBe(publicHost);
    const policy = JSON.parse(Buffer.from(post.fields.Policy!, 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
    expect(policy.conditions).toContainEqual(['content-length-range', 1, maxBytes]);
    expect(policy.conditions).toContainEqual({ key });
    expect(policy.conditions).toContainEqual({ bucket: s3.bucket });
    const lifetimeMs = Date.parse(policy.expiration) - Date.parse(post.fields['X-Amz-Date']!.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    expect(lifetimeMs).toBe(300_000);

    const file = randomBytes(3000);
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
    form.append('file', new Blob([file], { type: 'image/png' }), 'photo.png');
    const response = await fetch(post.url, { method: 'POST', body: form });
    expect(response.status, await response.text()).toBeLessThan(300);
    expect(await store.head(key)).toEqual({ size: file.length });
    expect(await read(store, key)).toEqual(file);
  });

  // The test server's ListMultipartUploads and AbortMultipartUpload (s3rver has neither) are what
  // `leftovers` relies on: this shows they see an open upload, so "no leftovers" above can fail.
  it('rejects a write the store refuses, and lets go of the body', async () => {
    const key = newKey();
    const wrongKeys = s3Store({ secretAccessKey: 'not-the-secret' });
    // Enough for lib-storage to start a multipart upload, then a client that goes quiet.
    const body = new Readable({ read() {} });
    body.push(randomBytes(2 * PART + MiB));
    await expect(wrongKeys.put(key, body, { contentType: 'text/plain', maxBytes: 1024 * MiB })).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    expect(body.destroyed).toBe(true);
    expect(await store.head(key)).toBeUndefined();
  });

  it('lists an open multipart upload until it is aborted', async () => {
    const key = newKey();
    const { UploadId } = await s3Admin.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
    const listed = await s3Admin.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: key }));
    expect(listed.Uploads?.map((upload) => [upload.Key, upload.UploadId])).toEqual([[key, UploadId]]);
    await s3Admin.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId }));
    expect((await s3Admin.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: key }))).Uploads ?? []).toEqual([]);
  });
});
