import { randomUUID } from 'node:crypto';
import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BullMqJobQueue } from '../../src/adapters/bullmq/job-queue.ts';
import { BullMqJobRunner, type JobRunObserver } from '../../src/adapters/bullmq/job-runner.ts';
import type { JobHandlers } from '../../src/domain/media/job-queue.ts';
import { createLogger } from '../../src/logger.ts';
import { eventually } from '../support/users.ts';

/**
 * A worker that stops in the middle of a job without finishing it (its
 * process killed, or its shutdown grace run out): another worker runs the
 * job once the lock lapses, and the job completes once. The workers run in
 * this process, each on its own Redis connections; the one that "dies" is
 * closed with no grace while its handler never returns, so it renews no
 * lock and reports nothing, as a killed process would.
 *
 * Short lock settings keep the test quick; production uses the runner's
 * defaults (20 s lock, 5 s stalled checks: back within 30 s).
 */
const LOCK_DURATION_MS = 2000;
const STALLED_INTERVAL_MS = 500;
/** When the job must be done, counted from the first worker's death: the lock lapses, one check marks the job, the next moves it; then slack for a loaded machine. */
const RECOVERY_BOUND_MS = LOCK_DURATION_MS + 2 * STALLED_INTERVAL_MS + 5000;

const namespace = createRedisNamespace();
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', format: 'json', nodeId: 'test' });
const redis = new Redis(redisUrl());
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await namespace.cleanup();
  redis.disconnect();
});

/** One cluster's queue and the keys its handlers write (by job id: deterministic output keys, as real jobs have). */
function world() {
  const keyPrefix = `${namespace.prefix}${randomUUID()}:`;
  const queue = new BullMqJobQueue({ url: redisUrl(), keyPrefix, nodeId: 'fault-queue', timeoutMs: 5000, logger });
  closers.push(() => queue.close());
  const keys = { starts: `${keyPrefix}starts`, results: `${keyPrefix}results` };

  /** A worker whose thumbnail handler records its start, then hangs (`hang`) or writes the job's one result. */
  async function startWorker(name: string, options: { hang: boolean; maxStalledCount?: number; observer?: JobRunObserver }) {
    const handlers: JobHandlers = {
      async thumbnail({ fileId }, run) {
        await redis.rpush(keys.starts, JSON.stringify({ worker: name, finalAttempt: run.finalAttempt }));
        if (options.hang) await new Promise(() => {});
        await redis.hsetnx(keys.results, fileId, name);
      },
      async 'sweep-files'() {},
    };
    const runner = await BullMqJobRunner.start({
      url: redisUrl(),
      keyPrefix,
      nodeId: name,
      handlers,
      concurrency: 1,
      logger,
      lockDurationMs: LOCK_DURATION_MS,
      stalledIntervalMs: STALLED_INTERVAL_MS,
      ...(options.maxStalledCount === undefined ? {} : { maxStalledCount: options.maxStalledCount }),
      ...(options.observer ? { observer: options.observer } : {}),
    });
    closers.push(() => runner.close(1000));
    return runner;
  }

  const starts = async () => (await redis.lrange(keys.starts, 0, -1)).map((entry) => JSON.parse(entry) as { worker: string; finalAttempt: boolean });
  const results = () => redis.hgetall(keys.results);
  return { queue, startWorker, starts, results };
}

describe('a worker that dies mid-job', () => {
  it('leaves its job to another worker, which completes it exactly once within the bound', async () => {
    const { queue, startWorker, starts, results } = world();
    const doomed = await startWorker('worker-a', { hang: true });
    const fileId = randomUUID();
    await queue.enqueue('thumbnail', { fileId }, { jobId: fileId });
    await eventually(async () => (await starts()).length === 1, 10_000, 'worker-a taking the job');
    await startWorker('worker-b', { hang: false });

    await doomed.close(0);
    await eventually(async () => (await queue.queueDepth()).completed === 1, RECOVERY_BOUND_MS, 'the job completing on worker-b');

    expect(await results()).toEqual({ [fileId]: 'worker-b' });
    // A lost worker costs no attempt: the second run is not the final one.
    expect(await starts()).toEqual([
      { worker: 'worker-a', finalAttempt: false },
      { worker: 'worker-b', finalAttempt: false },
    ]);
    expect(await queue.queueDepth()).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: 1 });
  });

  it('fails a job that lost its workers more often than allowed, reporting it as stalled', async () => {
    const { queue, startWorker, starts, results } = world();
    const failures: Array<{ name: string; reason: string; final: boolean }> = [];
    const doomed = await startWorker('worker-a', { hang: true, maxStalledCount: 0 });
    const fileId = randomUUID();
    await queue.enqueue('thumbnail', { fileId }, { jobId: fileId });
    await eventually(async () => (await starts()).length === 1, 10_000, 'worker-a taking the job');
    await startWorker('worker-b', { hang: false, maxStalledCount: 0, observer: { onFailure: (failure) => failures.push(failure) } });

    await doomed.close(0);
    await eventually(() => failures.length === 1, RECOVERY_BOUND_MS, 'the job failing on worker-b');

    expect(failures).toEqual([{ name: 'thumbnail', reason: 'stalled', final: true }]);
    expect(await starts()).toHaveLength(1);
    expect(await results()).toEqual({});
    expect(await queue.queueDepth()).toMatchObject({ failed: 1, completed: 0 });
  });
});
