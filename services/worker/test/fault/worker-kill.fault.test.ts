import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '@parley/db';
import { BullMqJobQueue, createLogger, FsBlobStore } from '@parley/signaling';
import { createMigratedDatabase, startLocalPostgres, startWorker, type LocalPostgres, type WorkerProcess } from '@parley/testkit';
import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_DURATION_MS, STALLED_INTERVAL_MS } from '../../../signaling/src/adapters/bullmq/job-runner.ts';
import { objectKeys } from '../../../signaling/src/domain/media/object-keys.ts';

/**
 * A worker process SIGKILLed in the middle of a thumbnail job, with the
 * production lock settings: another worker process makes the thumbnails
 * once the lock lapses, and the file is finished once. To hold the job
 * mid-flight without a switch in the worker, Postgres (a private one) is
 * frozen while the first worker takes the job: its handler waits on its
 * first query when the worker is killed.
 */
const RECOVERY_BOUND_MS = LOCK_DURATION_MS + 2 * STALLED_INTERVAL_MS + 15_000;
const logger = createLogger({ level: 'silent', format: 'json', nodeId: 'test' });

async function eventually(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A counter of a worker's /metrics (0 when absent). */
async function metric(worker: WorkerProcess, series: string): Promise<number> {
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('a worker process killed mid-job', () => {
  const namespace = createRedisNamespace();
  const workers: WorkerProcess[] = [];
  let postgres: LocalPostgres;
  let databaseUrl: string;
  let database: Database;
  let dataDir: string;
  let queue: BullMqJobQueue;

  beforeAll(async () => {
    postgres = await startLocalPostgres();
    ({ url: databaseUrl } = await createMigratedDatabase(postgres.url, { prefix: 'parley_fault' }));
    database = await openDatabase({ kind: 'postgres', url: databaseUrl });
    dataDir = await mkdtemp(path.join(tmpdir(), 'parley-worker-fault-'));
    queue = new BullMqJobQueue({ url: redisUrl(), keyPrefix: namespace.prefix, nodeId: 'test', timeoutMs: 5000, logger });
  }, 120_000);

  afterAll(async () => {
    postgres?.resume();
    await Promise.all(workers.map((worker) => worker.stop()));
    await queue?.close();
    await database?.close();
    await postgres?.stop();
    await namespace.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const start = async (nodeId: string) => {
    const worker = await startWorker({
      databaseUrl,
      redisUrl: redisUrl(),
      redisKeyPrefix: namespace.prefix,
      nodeId,
      env: { DATA_DIR: dataDir, WORKER_CONCURRENCY: '1' },
      startTimeoutMs: 60_000,
    });
    workers.push(worker);
    return worker;
  };

  it('leaves the job to another worker, which finishes the file once, within the lock bound', async () => {
    const [user] = await database.db
      .insertInto('users')
      .values({ username: `u${randomUUID().slice(0, 8)}`, display_name: 'U', password_hash: null })
      .returning('id')
      .execute();
    const fileId = randomUUID();
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3060c0' } }).png().toBuffer();
    await new FsBlobStore({ directory: path.join(dataDir, 'files') }).put(objectKeys.original(fileId), png, {
      contentType: 'image/png',
      maxBytes: png.length,
    });
    await database.db
      .insertInto('files')
      .values({ id: fileId, owner_id: user!.id, name: 'blue.png', purpose: 'attachment', status: 'processing', size: png.length, content_type: 'image/png' })
      .execute();

    const doomed = await start('worker-a');
    // The sweep scheduled at start runs at once; with one slot, it must be done before the thumbnail can be taken.
    await eventually(
      async () => (await metric(doomed, 'parley_job_duration_seconds_count{name="sweep-files",outcome="completed"}')) >= 1,
      20_000,
      'the first sweep',
    );
    await postgres.pause();
    await queue.enqueue('thumbnail', { fileId }, { jobId: fileId });
    await eventually(async () => (await queue.queueDepth()).active === 1, 10_000, 'worker-a taking the job');
    // Its handler is waiting on Postgres (DATABASE_QUERY_TIMEOUT_MS, 10 s, is far off).
    expect(await doomed.kill('SIGKILL')).toBeNull();
    postgres.resume();

    const survivor = await start('worker-b');
    const file = () => database.db.selectFrom('files').selectAll().where('id', '=', fileId).executeTakeFirstOrThrow();
    await eventually(async () => (await file()).status === 'ready', RECOVERY_BOUND_MS, 'the file becoming ready on worker-b');

    expect(await file()).toMatchObject({ status: 'ready', width: 300, height: 200, thumbnails: true, failure_reason: null });
    await eventually(
      async () => (await metric(survivor, 'parley_job_duration_seconds_count{name="thumbnail",outcome="completed"}')) === 1,
      10_000,
      'the job completing on worker-b',
    );
    expect(await metric(survivor, 'parley_job_stalls_total')).toBe(1);
    expect(await metric(survivor, 'parley_job_failures_total{name="thumbnail",reason="error",final="false"}')).toBe(0);
    // (`delayed` holds the sweep's next run.)
    expect(await queue.queueDepth()).toMatchObject({ active: 0, waiting: 0, failed: 0 });
  }, 180_000);
});
