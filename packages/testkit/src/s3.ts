import { mkdtemp, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { checkSignature, type S3Credentials } from './s3-signature.ts';
import { errorXml, listMultipartUploadsXml, S3rverUploads } from './s3rver-uploads.ts';

export interface S3Service {
  /** Where the API answers, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  /** A bucket that exists. */
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Whether clients must put the bucket in the path (the local server: yes, it answers on an IP address). */
  readonly forcePathStyle: boolean;
  readonly source: 'environment' | 'local';
  stop(): Promise<void>;
}

export interface S3ServerOptions {
  /** Default `parley-test`. */
  bucket?: string;
  /** Default `us-east-1`. */
  region?: string;
  /** Let s3rver log each request and error to the console (default: silent). */
  verbose?: boolean;
  /** Default: a free port. */
  port?: number;
}

/** Keys one DeleteObjects may name. */
const MAX_DELETE_KEYS = 1000;

/** s3rver's built-in account: it knows no other. */
const S3RVER_CREDENTIALS: S3Credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * S3 for tests: the store named by `S3_ENDPOINT`, `S3_BUCKET`,
 * `S3_ACCESS_KEY_ID` and `S3_SECRET_ACCESS_KEY` (`S3_REGION`, default
 * `us-east-1`; `S3_FORCE_PATH_STYLE`, default `true`) when set, e.g. MinIO;
 * else a private s3rver from `startS3Server`. Tests sharing a bucket keep
 * apart by key.
 */
export async function getS3(env: NodeJS.ProcessEnv = process.env): Promise<S3Service> {
  if (!env.S3_ENDPOINT) return startS3Server();
  const { S3_ENDPOINT: endpoint, S3_BUCKET: bucket, S3_ACCESS_KEY_ID: accessKeyId, S3_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (!bucket || !accessKeyId || !secretAccessKey) {
    throw new Error('S3_ENDPOINT is set: S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are needed too.');
  }
  return {
    endpoint,
    bucket,
    region: env.S3_REGION ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    forcePathStyle: env.S3_FORCE_PATH_STYLE !== 'false',
    source: 'environment',
    stop: async () => {},
  };
}

/**
 * A real S3 API server in this process: s3rver on 127.0.0.1 and a free port,
 * keeping its objects in a temporary directory (removed by `stop`), with one
 * bucket. In front of it, what s3rver leaves out and S3 does: every request is
 * checked against its Signature Version 4 (s3rver accepts any), anonymous
 * ones are refused, multipart uploads can be listed and aborted, and a
 * DeleteObjects names at most 1000 keys. Not checked, as in s3rver: the
 * policy of a browser form POST (its size range).
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Service> {
  const bucket = options.bucket ?? 'parley-test';
  const region = options.region ?? 'us-east-1';
  // Loaded here: importing the testkit should not load Koa and winston for every test file.
  const { default: S3rver } = await import('s3rver');
  const directory = await mkdtemp(path.join(tmpdir(), 'parley-s3-'));
  // `silent` mutes s3rver's winston logger and Koa's default error printer alike.
  const s3rver = new S3rver({ directory, silent: !options.verbose, configureBuckets: [{ name: bucket }] });
  await s3rver.configureBuckets();
  deleteOneAtATime(s3rver.store);
  const serve = s3rver.callback();
  const uploads = new S3rverUploads(directory);

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, request.method, 500, 'InternalError', (error as Error).message);
      else response.destroy();
    });
  });
  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const refusal = checkSignature({ method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers }, S3RVER_CREDENTIALS);
    if (refusal) return send(response, request.method, refusal.status, refusal.code, refusal.message);
    const url = new URL(request.url ?? '/', 'http://s3');
    const [bucketName = '', ...keyParts] = url.pathname.slice(1).split('/').map(decodeURIComponent);
    const key = keyParts.join('/');
    if (request.method === 'GET' && !key && url.searchParams.has('uploads')) {
      const prefix = url.searchParams.get('prefix') ?? '';
      const body = listMultipartUploadsXml(bucketName, prefix, await uploads.list(bucketName, prefix));
      response.writeHead(200, { 'content-type': 'application/xml' }).end(body);
      return;
    }
    if (request.method === 'DELETE' && key && url.searchParams.has('uploadId')) {
      if (await uploads.abort(bucketName, key, url.searchParams.get('uploadId') ?? '')) response.writeHead(204).end();
      else send(response, request.method, 404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
      return;
    }
    if (request.method === 'POST' && !key && url.searchParams.has('delete')) {
      // s3rver takes any number of keys; S3 at most 1000.
      const body = await buffer(request);
      if ((body.toString('utf8').match(/<Object>/g) ?? []).length > MAX_DELETE_KEYS) {
        return send(response, request.method, 400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
      }
      return serve(replay(request, body), response);
    }
    serve(request, response);
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region,
    ...S3RVER_CREDENTIALS,
    forcePathStyle: true,
    source: 'local',
    stop: async () => {
      // The SDK keeps connections alive: close() alone would wait for them to idle out.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * s3rver deletes the keys of one DeleteObjects concurrently, each then
 * removing its folder when it looks empty: two keys in one folder (a file's
 * two thumbnails) race to remove it, and the loser fails the whole request
 * with InternalError. S3 has no folders and no such race: run deletes one
 * at a time.
 */
function deleteOneAtATime(store: { deleteObject(bucket: string, key: string): Promise<void> }): void {
  const deleteObject = store.deleteObject.bind(store);
  let previous: Promise<unknown> = Promise.resolve();
  store.deleteObject = (bucket, key) => {
    const next = previous.catch(() => {}).then(() => deleteObject(bucket, key));
    previous = next;
    return next;
  };
}

/** `request` again, its body already read into `body`, for s3rver to read. */
function replay(request: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = Readable.from([body], { objectMode: false });
  const { headers, rawHeaders, method, url, socket, httpVersion, httpVersionMajor, httpVersionMinor } = request;
  return Object.assign(copy, { headers, rawHeaders, method, url, socket, httpVersion, httpVersionMajor, httpVersionMinor }) as unknown as IncomingMessage;
}

function send(response: ServerResponse, method: string | undefined, status: number, code: string, message: string): void {
  response.writeHead(status, { 'content-type': 'application/xml' });
  response.end(method === 'HEAD' ? undefined : errorXml(code, message));
}
