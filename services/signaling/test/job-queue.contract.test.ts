import { randomUUID } from 'node:crypto';
import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BullMqJobRunner } from '../src/adapters/bullmq/job-runner.ts';
import { BullMqJobQueue } from '../src/adapters/bullmq/job-queue.ts';
import { InProcessJobQueue } from '../src/adapters/memory/job-queue.ts';
import { JOB_ATTEMPTS, PermanentJobError, type JobHandlers, type JobQueue, type JobRun } from '../src/domain/media/job-queue.ts';
import { createLogger } from '../src/logger.ts';
import { eventually } from './support/users.ts';

const namespace = createRedisNamespace();
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', format: 'json', nodeId: 'test' });
/** Short backoff so that five attempts take a fraction of a second. */
const RETRY_BASE_DELAY_MS = 10;

interface Harness {
  queue: JobQueue;
  close(): Promise<void>;
}

/** A queue and what runs its jobs (one at a time: tests reason about order), with the test's handlers. */
type MakeHarness = (handlers: JobHandlers) => Promise<Harness>;

const inProcess: MakeHarness = async (handlers) => {
  const queue = new InProcessJobQueue({ logger, concurrency: 1, retryBaseDelayMs: RETRY_BASE_DELAY_MS });
  queue.start(handlers);
  return { queue, close: () => queue.close() };
};

const bullMq: MakeHarness = async (handlers) => {
  const keyPrefix = `${namespace.prefix}${randomUUID()}:`;
  const queue = new BullMqJobQueue({
    url: redisUrl(),
    keyPrefix,
    nodeId: 'contract-queue',
    timeoutMs: 5000,
    logger,
    retryBaseDelayMs: RETRY_BASE_DELAY_MS,
  });
  const runner = await BullMqJobRunner.start({ url: redisUrl(), keyPrefix, nodeId: 'contract-worker', handlers, concurrency: 1, logger });
  return {
    queue,
    close: async () => {
      await runner.close(5000);
      await queue.close();
    },
  };
};

interface Call {
  name: string;
  fileId: string | undefined;
  finalAttempt: boolean;
}

/** Handlers recording every call; `thumbnail` does what the test says for each file id. */
function recordingHandlers(thumbnail: (fileId: string, run: JobRun, calls: Call[]) => Promise<void> = async () => {}) {
  const calls: Call[] = [];
  const handlers: JobHandlers = {
    async thumbnail({ fileId }, run) {
      calls.push({ name: 'thumbnail', fileId, finalAttempt: run.finalAttempt });
      await thumbnail(fileId, run, calls);
    },
    async 'sweep-files'(_payload, run) {
      calls.push({ name: 'sweep-files', fileId: undefined, finalAttempt: run.finalAttempt });
    },
  };
  const of = (fileId: string) => calls.filter((call) => call.fileId === fileId);
  return { handlers, calls, of };
}

/** A promise the test resolves when it wants. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * Enqueues `fileId` under `jobId` until a run with it starts. An earlier job
 * under the same id holds the id while it is queued, waiting for a retry or
 * running; the first enqueue after it is finished for good runs.
 */
async function enqueueUntilRun(queue: JobQueue, jobId: string, fileId: string, of: (fileId: string) => Call[]): Promise<void> {
  await eventually(
    async () => {
      if (of(fileId).length > 0) return true;
      await queue.enqueue('thumbnail', { fileId }, { jobId });
      return false;
    },
    10_000,
    `a run of ${fileId}`,
  );
}

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()));
});
afterAll(() => namespace.cleanup());

describe.each<[string, MakeHarness]>([
  ['in process (embedded)', inProcess],
  ['BullMQ (cluster)', bullMq],
])('job queue: %s', (_name, make) => {
  const start = async (handlers: JobHandlers) => {
    const harness = await make(handlers);
    open.push(harness);
    return harness.queue;
  };

  it('runs a job once when it is enqueued again while it waits or runs', async () => {
    const blocker = gate();
    const slowStarted = gate();
    const slowMayEnd = gate();
    const { handlers, of } = recordingHandlers(async (fileId) => {
      if (fileId === 'blocker') await blocker.promise;
      if (fileId === 'slow') {
        slowStarted.open();
        await slowMayEnd.promise;
      }
    });
    const queue = await start(handlers);
    const [waiting, slow, sentinel] = [randomUUID(), randomUUID(), randomUUID()];

    // The one slot is taken: `waiting` waits behind it while it is enqueued three times.
    await queue.enqueue('thumbnail', { fileId: 'blocker' }, { jobId: randomUUID() });
    await eventually(() => of('blocker').length === 1);
    for (let i = 0; i < 3; i++) await queue.enqueue('thumbnail', { fileId: waiting }, { jobId: waiting });
    await queue.enqueue('thumbnail', { fileId: 'slow' }, { jobId: slow });
    blocker.open();
    await slowStarted.promise;
    // `slow` is running: enqueued again, it is not added.
    await queue.enqueue('thumbnail', { fileId: 'slow' }, { jobId: slow });
    slowMayEnd.open();
    // One at a time, in order: a duplicate of either would run before the sentinel.
    await queue.enqueue('thumbnail', { fileId: sentinel }, { jobId: sentinel });
    await eventually(() => of(sentinel).length === 1);

    expect(of(waiting)).toHaveLength(1);
    expect(of('slow')).toHaveLength(1);
  });

  it('runs a job again when it is enqueued after it finished', async () => {
    const { handlers, of } = recordingHandlers(async (fileId) => {
      if (fileId.startsWith('refused')) throw new PermanentJobError('not_an_image', 'refused');
    });
    const queue = await start(handlers);
    const done = randomUUID();
    const failed = randomUUID();

    await queue.enqueue('thumbnail', { fileId: 'done-1' }, { jobId: done });
    await eventually(() => of('done-1').length === 1);
    await enqueueUntilRun(queue, done, 'done-2', of);

    await queue.enqueue('thumbnail', { fileId: 'refused-1' }, { jobId: failed });
    await eventually(() => of('refused-1').length === 1);
    await enqueueUntilRun(queue, failed, 'refused-2', of);

    // A new job, with its new payload and its attempts counted afresh.
    expect(of('refused-2')[0]).toEqual({ name: 'thumbnail', fileId: 'refused-2', finalAttempt: false });
  });

  it('retries a failing job with backoff until it succeeds', async () => {
    const { handlers, of } = recordingHandlers(async (fileId, _run, calls) => {
      if (fileId === 'flaky' && calls.filter((call) => call.fileId === 'flaky').length < 3) throw new Error('S3 timed out');
    });
    const queue = await start(handlers);
    const jobId = randomUUID();

    await queue.enqueue('thumbnail', { fileId: 'flaky' }, { jobId });
    await eventually(() => of('flaky').length === 3);
    // Finished: the next enqueue under its id runs (a fourth attempt would have come first).
    await enqueueUntilRun(queue, jobId, 'after', of);

    expect(of('flaky').map((call) => call.finalAttempt)).toEqual([false, false, false]);
  });

  it('runs a job that throws PermanentJobError once, without retrying it', async () => {
    const { handlers, of } = recordingHandlers(async (fileId) => {
      if (fileId === 'bomb') throw new PermanentJobError('too_many_pixels', 'decompression bomb');
    });
    const queue = await start(handlers);
    const jobId = randomUUID();

    await queue.enqueue('thumbnail', { fileId: 'bomb' }, { jobId });
    await eventually(() => of('bomb').length === 1);
    // A retry would hold the id and run `bomb` again before `after` could run.
    await enqueueUntilRun(queue, jobId, 'after', of);

    expect(of('bomb')).toHaveLength(1);
  });

  it(`tells the handler it runs its final attempt exactly on attempt ${JOB_ATTEMPTS}`, async () => {
    const { handlers, of } = recordingHandlers(async (fileId) => {
      if (fileId === 'broken') throw new Error('always fails');
    });
    const queue = await start(handlers);
    const jobId = randomUUID();

    await queue.enqueue('thumbnail', { fileId: 'broken' }, { jobId });
    await eventually(() => of('broken').length === JOB_ATTEMPTS, 10_000);
    await enqueueUntilRun(queue, jobId, 'after', of);

    expect(of('broken').map((call) => call.finalAttempt)).toEqual([...Array(JOB_ATTEMPTS - 1).fill(false), true]);
  });

  it('runs a schedule repeatedly, and a new schedule of the same job replaces it', async () => {
    const { handlers, calls, of } = recordingHandlers();
    const queue = await start(handlers);

    await queue.schedule('thumbnail', { fileId: 'a' }, 100);
    await eventually(() => of('a').length >= 3, 10_000, 'three scheduled runs');
    await queue.schedule('thumbnail', { fileId: 'b' }, 100);
    await eventually(() => of('b').length >= 3, 10_000, 'three runs of the new schedule');

    // A run of the old schedule already under way may finish after the new one started; none starts later.
    const lastA = calls.findLastIndex((call) => call.fileId === 'a');
    const secondB = calls.findIndex((call, index) => call.fileId === 'b' && calls.slice(0, index).some((earlier) => earlier.fileId === 'b'));
    expect(lastA).toBeLessThan(secondB);
  });

  it('refuses job ids BullMQ cannot take', async () => {
    const { handlers } = recordingHandlers();
    const queue = await start(handlers);
    for (const jobId of ['a:b', 'repeat:x:1', '42', '']) {
      await expect(queue.enqueue('thumbnail', { fileId: 'x' }, { jobId })).rejects.toThrow(/Invalid job id/);
    }
  });
});

describe('in-process job queue', () => {
  it('holds jobs enqueued before start and runs them, at most `concurrency` at once', async () => {
    const release = gate();
    let running = 0;
    let most = 0;
    const { handlers, calls } = recordingHandlers(async () => {
      running++;
      most = Math.max(most, running);
      await release.promise;
      running--;
    });
    const queue = new InProcessJobQueue({ logger, concurrency: 2 });
    open.push({ queue, close: () => queue.close() });
    for (let i = 0; i < 5; i++) await queue.enqueue('thumbnail', { fileId: `f${i}` }, { jobId: randomUUID() });
    expect(calls).toHaveLength(0);

    queue.start(handlers);
    await eventually(() => running === 2);
    release.open();
    await eventually(() => calls.length === 5);
    expect(most).toBe(2);
  });

  it('waits for running jobs on close, and drops the ones not started', async () => {
    const release = gate();
    let finished = 0;
    const { handlers, calls } = recordingHandlers(async () => {
      await release.promise;
      finished++;
    });
    const queue = new InProcessJobQueue({ logger, concurrency: 1 });
    queue.start(handlers);
    await queue.enqueue('thumbnail', { fileId: 'running' }, { jobId: randomUUID() });
    await queue.enqueue('thumbnail', { fileId: 'queued' }, { jobId: randomUUID() });
    await eventually(() => calls.length === 1);

    let closed = false;
    const closing = queue.close().then(() => {
      closed = true;
    });
    await Promise.resolve();
    expect(closed).toBe(false);
    release.open();
    await closing;

    expect(finished).toBe(1);
    expect(calls.map((call) => call.fileId)).toEqual(['running']);
    await expect(queue.enqueue('thumbnail', { fileId: 'late' })).rejects.toThrow(/closed/);
  });
});

describe('BullMQ job runner', () => {
  it('reports each run and each failed attempt, with its reason and whether a retry follows', async () => {
    const runs: Array<{ name: string; outcome: string; seconds: number }> = [];
    const failures: Array<{ name: string; reason: string; final: boolean }> = [];
    const { handlers, of } = recordingHandlers(async (fileId, _run, calls) => {
      if (calls.filter((call) => call.fileId === fileId).length === 1) throw new Error('S3 timed out');
      throw new PermanentJobError('corrupt_image', 'truncated');
    });
    const keyPrefix = `${namespace.prefix}${randomUUID()}:`;
    const queue = new BullMqJobQueue({ url: redisUrl(), keyPrefix, nodeId: 'observed-queue', timeoutMs: 5000, logger, retryBaseDelayMs: 10 });
    const runner = await BullMqJobRunner.start({
      url: redisUrl(),
      keyPrefix,
      nodeId: 'observed-worker',
      handlers,
      concurrency: 1,
      logger,
      observer: {
        onRun: (run) => runs.push(run),
        onFailure: (failure) => failures.push(failure),
      },
    });
    open.push({
      queue,
      close: async () => {
        await runner.close(5000);
        await queue.close();
      },
    });

    await queue.enqueue('thumbnail', { fileId: 'photo' }, { jobId: randomUUID() });
    await queue.enqueue('sweep-files', {});
    await eventually(() => failures.length === 2 && runs.length === 3);

    expect(of('photo')).toHaveLength(2);
    expect(failures).toEqual([
      { name: 'thumbnail', reason: 'error', final: false },
      { name: 'thumbnail', reason: 'corrupt_image', final: true },
    ]);
    expect(runs.map(({ name, outcome }) => `${name} ${outcome}`).sort()).toEqual(['sweep-files completed', 'thumbnail failed', 'thumbnail failed']);
    expect(runs.every((run) => run.seconds >= 0 && run.seconds < 60)).toBe(true);
  });
});
