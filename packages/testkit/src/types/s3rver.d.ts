// s3rver ships no type declarations; this is the part of its API the test
// S3 server uses (https://github.com/jamhall/s3rver#class-s3rver).
declare module 's3rver' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface S3rverOptions {
    /** Where buckets and objects are kept on disk. */
    directory: string;
    /** Mutes both its winston logger and Koa's error output. */
    silent?: boolean;
    /** Buckets created by `configureBuckets()`. */
    configureBuckets?: ReadonlyArray<{ name: string }>;
    vhostBuckets?: boolean;
  }

  /** Where s3rver keeps objects (its filesystem store); only what the test kit touches. */
  export interface S3rverStore {
    deleteObject(bucket: string, key: string): Promise<void>;
  }

  export default class S3rver {
    constructor(options: S3rverOptions);
    readonly store: S3rverStore;
    /** Creates the buckets named in the options. */
    configureBuckets(): Promise<void>;
    /** The request handler, to serve from an `http.Server` of one's own. */
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
  }
}
