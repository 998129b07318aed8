import { startS3Server } from '@parley/testkit';

// The S3 API server of the media benchmark, in a process of its own so that
// its CPU is measured apart from the load generator's: testkit's
// `startS3Server` (s3rver behind SigV4 checks, objects in a temporary
// directory). Prints {"msg":"listening",…} with the endpoint, bucket and keys
// when ready; SIGTERM or SIGINT removes the directory and exits.

const s3 = await startS3Server({ bucket: 'parley-bench' });
const { endpoint, bucket, region, accessKeyId, secretAccessKey } = s3;
process.stdout.write(`${JSON.stringify({ msg: 'listening', endpoint, bucket, region, accessKeyId, secretAccessKey })}\n`);

const stop = () => {
  void s3.stop().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
