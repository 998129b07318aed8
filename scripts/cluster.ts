import { migrateToLatest, openDatabase } from '@parley/db';
import {
  startCluster,
  startLocalPostgres,
  startLocalRedis,
  startS3Server,
  startWorker,
  type Cluster,
  type S3Service,
  type WorkerProcess,
} from '@parley/testkit';
import { settingNames } from '@parley/signaling';
import { z } from 'zod';
import { settingsFrom } from './cluster/settings.ts';

// npm run cluster: a local multi-pod cluster without Docker. Starts a private
// redis-server and postgres from the local binaries and a local S3 API server,
// migrates, and runs PODS signaling pods on BASE_PORT, BASE_PORT+1, ... and
// one job worker in the foreground until Ctrl-C. Data lives in temporary
// directories and is gone when the cluster stops.

const env = z
  .object({
    PODS: z.coerce.number().int().min(1).max(16).default(3),
    BASE_PORT: z.coerce.number().int().min(1).max(65_000).default(5001),
    LOCAL_S3_PORT: z.coerce.number().int().min(1).max(65_535).default(5090),
    WORKER_PORT: z.coerce.number().int().min(1).max(65_535).default(5100),
    REDIS_KEY_PREFIX: z.string().min(1).default('parley:'),
    S3_BUCKET: z.string().min(1).optional(),
  })
  .safeParse(Object.fromEntries(Object.entries(process.env).filter(([, value]) => value)));
if (!env.success) {
  process.stderr.write(`${z.prettifyError(env.error)}\n`);
  process.exit(2);
}
const { PODS, BASE_PORT, LOCAL_S3_PORT, WORKER_PORT, REDIS_KEY_PREFIX } = env.data;
/** Without S3_BUCKET, a local S3 server, and every S3_ variable is the script's; with it, the user's store. */
const localS3 = env.data.S3_BUCKET === undefined;

/** Settings the script sets itself, per process or for the whole cluster. */
const OWN_SETTINGS = new Set([
  'NODE_ID', 'HOST', 'PORT', 'WORKER_PORT', 'DATABASE_URL', 'REDIS_URL', 'REDIS_KEY_PREFIX',
  // Log lines are read as JSON and printed one readable line each.
  'LOG_FORMAT',
]);
const S3_SETTINGS = ['S3_BUCKET', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_ENDPOINT', 'S3_PUBLIC_ENDPOINT', 'S3_FORCE_PATH_STYLE'];
const passedThrough = settingsFrom(
  process.env,
  settingNames,
  new Set([...OWN_SETTINGS, ...(localS3 ? S3_SETTINGS : [])]),
);

const out = (line: string) => process.stdout.write(`${line}\n`);
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** One readable line per JSON log line: time, level, message, then the other fields. */
function readable(prefix: string, line: string): string {
  try {
    const { time, level, msg, nodeId: _nodeId, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `[${prefix}] ${String(time).slice(11, 23)} ${LEVELS[Number(level)] ?? level} ${String(msg)}${extra}`;
  } catch {
    return `[${prefix}] ${line}`;
  }
}

/** A local S3 API server (the test kit's: s3rver checking signatures) at a fixed address, so URLs stay the same between runs. */
async function startLocalS3(): Promise<{ s3: S3Service; endpoint: string; stop(): Promise<void> }> {
  const s3 = await startS3Server({ bucket: 'parley', port: LOCAL_S3_PORT }).catch((error: unknown) => {
    throw new Error(`The local S3 server cannot listen on 127.0.0.1:${LOCAL_S3_PORT} (set LOCAL_S3_PORT): ${(error as Error).message}`, {
      cause: error,
    });
  });
  return { s3, endpoint: s3.endpoint, stop: () => s3.stop() };
}

out(`Starting a private Postgres and Redis from local binaries${localS3 ? ' and a local S3 server' : ''}...`);
const [postgres, redis, objectStore] = await Promise.all([
  startLocalPostgres(),
  startLocalRedis(),
  localS3 ? startLocalS3().catch((error: unknown) => error as Error) : undefined,
]);
let cluster: Cluster | undefined;
let worker: WorkerProcess | undefined;

async function stopAll(code: number): Promise<never> {
  out('\nStopping...');
  // Pods and worker first: they close their Redis, Postgres and S3 connections on the way out.
  await Promise.all([cluster?.stop(), worker?.stop()]);
  await Promise.all([redis.stop(), postgres.stop(), objectStore instanceof Error ? undefined : objectStore?.stop()]);
  process.exit(code);
}
process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

let s3Env: Record<string, string> = {};
try {
  if (objectStore instanceof Error) throw objectStore;
  if (objectStore) {
    const { s3, endpoint } = objectStore;
    s3Env = {
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
    };
  }
  const database = await openDatabase({ kind: 'postgres', url: postgres.url });
  out(`Migrations applied: ${(await migrateToLatest(database.db)).join(', ') || 'none'}`);
  await database.close();

  const processEnv = { ...passedThrough, ...s3Env };
  const names = Object.keys(passedThrough).sort();
  if (names.length > 0) out(`Passed to pods and worker from your environment: ${names.join(', ')}`);
  [cluster, worker] = await Promise.all([
    startCluster({
      pods: PODS,
      basePort: BASE_PORT,
      databaseUrl: postgres.url,
      redisUrl: redis.url,
      redisKeyPrefix: REDIS_KEY_PREFIX,
      env: processEnv,
      onLine: (pod, line) => out(readable(`pod-${pod + 1}`, line)),
    }),
    startWorker({
      nodeId: 'worker-1',
      port: WORKER_PORT,
      databaseUrl: postgres.url,
      redisUrl: redis.url,
      redisKeyPrefix: REDIS_KEY_PREFIX,
      env: processEnv,
      onLine: (line) => out(readable('worker-1', line)),
    }),
  ]);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  await stopAll(1);
}

out('');
out(`Postgres:  ${postgres.url}`);
out(`Redis:     ${redis.url} (keys under ${REDIS_KEY_PREFIX})`);
if (objectStore && !(objectStore instanceof Error)) {
  const { s3, endpoint } = objectStore;
  out(`S3:        ${endpoint} bucket ${s3.bucket}, path style, keys ${s3.accessKeyId} / ${s3.secretAccessKey}`);
} else {
  out(`S3:        your store, bucket ${env.data.S3_BUCKET}`);
}
out(`worker-1:  ${worker?.url ?? ''} (/health, /ready, /metrics)`);
for (const pod of cluster?.pods ?? []) out(`${pod.nodeId}:     ${pod.url}`);
out('Press Ctrl-C to stop.');
