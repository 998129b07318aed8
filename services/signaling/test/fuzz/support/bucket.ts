import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3Service } from '@parley/testkit';

/**
 * The fuzz node's object storage: the test kit's S3 server, read and written
 * through the S3 API, as an operator (or a client with a presigned form) would.
 */
export class Bucket {
  readonly #service: S3Service;
  readonly #client: S3Client;

  private constructor(service: S3Service) {
    this.#service = service;
    this.#client = new S3Client({
      region: service.region,
      endpoint: service.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
    });
  }

  static async start(): Promise<Bucket> {
    return new Bucket(await startS3Server());
  }

  /** Where the S3 API answers. */
  get endpoint(): string {
    return this.#service.endpoint;
  }

  /** The node's configuration for this bucket. */
  get env(): Record<string, string> {
    const service = this.#service;
    return {
      S3_ENDPOINT: service.endpoint,
      S3_BUCKET: service.bucket,
      S3_REGION: service.region,
      S3_ACCESS_KEY_ID: service.accessKeyId,
      S3_SECRET_ACCESS_KEY: service.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    };
  }

  /** Every object in the bucket: key → size. */
  async objects(): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    let token: string | undefined;
    do {
      const page = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#service.bucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) found.set(object.Key ?? '', object.Size ?? 0);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /** Stores `body` under `key` directly, as a client holding a presigned form would. */
  async put(key: string, body: Buffer): Promise<void> {
    await this.#client.send(new PutObjectCommand({ Bucket: this.#service.bucket, Key: key, Body: body }));
  }

  async stop(): Promise<void> {
    this.#client.destroy();
    await this.#service.stop();
  }
}

/** What differs between two listings: keys that appeared, vanished or changed size. */
export function bucketChanges(before: Map<string, number>, after: Map<string, number>): { added: string[]; removed: string[]; resized: string[] } {
  return {
    added: [...after.keys()].filter((key) => !before.has(key)),
    removed: [...before.keys()].filter((key) => !after.has(key)),
    resized: [...after.keys()].filter((key) => before.has(key) && before.get(key) !== after.get(key)),
  };
}
