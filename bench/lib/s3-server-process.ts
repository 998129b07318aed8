import path from 'node:path';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ManagedProcess } from '@parley/testkit';
import { processTarget, type CpuTarget } from './process-cpu.ts';

const serverMain = path.resolve(import.meta.dirname, 's3-server.main.ts');

interface Listening {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** testkit's S3 API server (s3rver) in a child process (`s3-server.main.ts`), so its CPU is its own. */
export class S3ServerProcess {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly #credentials: { accessKeyId: string; secretAccessKey: string };
  readonly #process: ManagedProcess;

  private constructor(process: ManagedProcess, listening: Listening) {
    this.#process = process;
    this.endpoint = listening.endpoint;
    this.bucket = listening.bucket;
    this.region = listening.region;
    this.#credentials = { accessKeyId: listening.accessKeyId, secretAccessKey: listening.secretAccessKey };
  }

  static async start(): Promise<S3ServerProcess> {
    const child = await ManagedProcess.start('s3-server', {
      command: process.execPath,
      args: [serverMain],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
      readyLine: /"msg":"listening"/,
    });
    const line = child.recentLines.find((candidate) => candidate.includes('"listening"')) ?? '{}';
    return new S3ServerProcess(child, JSON.parse(line) as Listening);
  }

  get pid(): number {
    const pid = this.#process.pid;
    if (pid === undefined) throw new Error('the S3 server has no pid');
    return pid;
  }

  cpuTarget(): CpuTarget {
    return processTarget('s3 server (s3rver)', 'object store', this.pid);
  }

  /** The `S3_*` settings a pod or a worker needs to use this server. */
  env(): Record<string, string> {
    return {
      S3_ENDPOINT: this.endpoint,
      S3_BUCKET: this.bucket,
      S3_REGION: this.region,
      S3_ACCESS_KEY_ID: this.#credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: this.#credentials.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    };
  }

  /** An SDK client set up as `S3BlobStore` sets up its own (defaults otherwise: SigV4, CRC32 checksums). */
  client(): S3Client {
    return new S3Client({ endpoint: this.endpoint, region: this.region, forcePathStyle: true, credentials: this.#credentials });
  }

  /** Deletes every object of the bucket, a listed page per DeleteObjects. */
  async empty(client: S3Client): Promise<number> {
    let deleted = 0;
    for (;;) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1000 }));
      const keys = (listed.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
      if (keys.length === 0) return deleted;
      await client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
      deleted += keys.length;
    }
  }

  async stop(): Promise<void> {
    await this.#process.stop('SIGTERM', 10_000);
  }
}
