import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Database } from '@parley/db';
import { BullMqJobQueue, createLogger, FsBlobStore } from '@parley/signaling';
import { startWorker, type WorkerProcess } from '@parley/testkit';
import { createRedisNamespace, createTestDatabase, redisUrl, type TestDatabase } from '@parley/testkit/vitest';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectKeys } from '../../signaling/src/domain/media/object-keys.ts';

const workerMain = path.resolve(import.meta.dirname, '../src/main.ts');
const logger = createLogger({ level: 'silent', format: 'json', nodeId: 'test' });

async function eventually(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the worker process', () => {
  it('refuses to start without REDIS_URL and DATABASE_URL, saying so', async () => {
    const run = promisify(execFile)(process.execPath, [workerMain], { env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    const failure = await run.then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/The worker needs REDIS_URL and DATABASE_URL/);
  });

  describe('in a cluster', () => {
    const namespace = createRedisNamespace();
    let testDatabase: TestDatabase;
    let database: Database;
    let dataDir: string;
    let blobs: FsBlobStore;
    let worker: WorkerProcess;
    let queue: BullMqJobQueue;

    beforeAll(async () => {
      testDatabase = await createTestDatabase();
      database = await testDatabase.open();
      dataDir = await mkdtemp(path.join(tmpdir(), 'parley-worker-'));
      blobs = new FsBlobStore({ directory: path.join(dataDir, 'files') });
      worker = await startWorker({
        databaseUrl: testDatabase.url,
        redisUrl: redisUrl(),
        redisKeyPrefix: namespace.prefix,
        env: { DATA_DIR: dataDir, SHUTDOWN_GRACE_MS: '5000' },
      });
      queue = new BullMqJobQueue({ url: redisUrl(), keyPrefix: namespace.prefix, nodeId: 'test', timeoutMs: 5000, logger });
    }, 90_000);

    afterAll(async () => {
      await worker?.stop();
      await queue?.close();
      await testDatabase?.drop();
      await namespace.cleanup();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('answers /health and /ready (database, Redis and the job queue answering)', async () => {
      const health = await fetch(`${worker.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', nodeId: worker.nodeId });

      const ready = await fetch(`${worker.url}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', redis: 'ok', job_queue: 'ok' } });
    });

    it('makes the thumbnails of an image a pod queued, and counts the job in /metrics', async () => {
      const [user] = await database.db
        .insertInto('users')
        .values({ username: `u${randomUUID().slice(0, 8)}`, display_name: 'U', password_hash: null })
        .returning('id')
        .execute();
      const fileId = randomUUID();
      const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c03030' } }).png().toBuffer();
      await blobs.put(objectKeys.original(fileId), png, { contentType: 'image/png', maxBytes: png.length });
      await database.db
        .insertInto('files')
        .values({ id: fileId, owner_id: user!.id, name: 'red.png', purpose: 'attachment', status: 'processing', size: png.length, content_type: 'image/png' })
        .execute();

      await queue.enqueue('thumbnail', { fileId }, { jobId: fileId });

      const file = () => database.db.selectFrom('files').selectAll().where('id', '=', fileId).executeTakeFirstOrThrow();
      await eventually(async () => (await file()).status === 'ready', 20_000, 'the file becoming ready');
      expect(await file()).toMatchObject({ width: 64, height: 48, thumbnails: true });
      expect((await file()).placeholder).toMatch(/^[A-Za-z0-9+/=]+$/);
      expect(await blobs.head(objectKeys.thumbnail(fileId, 256))).toBeDefined();

      const metrics = async () => (await fetch(`${worker.url}/metrics`)).text();
      await eventually(
        async () => (await metrics()).includes('parley_job_duration_seconds_count{name="thumbnail",outcome="completed"} 1'),
        10_000,
        'the job counted in /metrics',
      );
      const text = await metrics();
      expect(text).toMatch(/^parley_job_queue_jobs\{queue="media",state="completed"\} [1-9]/m);
      expect(text).toMatch(/^parley_job_queue_jobs\{queue="media",state="waiting"\} \d+/m);
      // The file sweep is scheduled at start, and runs at once.
      expect(text).toMatch(/^parley_job_duration_seconds_count\{name="sweep-files",outcome="completed"\} [1-9]/m);
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    });

    it('stops on SIGTERM: not ready, jobs finished, connections closed, exit 0', async () => {
      const code = await worker.stop();
      expect(code).toBe(0);
      expect(worker.logs().map((entry) => entry.msg)).toContain('shutting down');
      expect(worker.logs().filter((entry) => Number(entry.level) >= 50)).toEqual([]);
    });
  });
});
