import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { PermanentJobError, type JobHandlers } from '../../domain/media/job-queue.ts';
import { throttledWarning, type Logger } from '../../logger.ts';
import { failureReason, isJobName, runHandler } from '../jobs.ts';
import { bullmqPrefix, closeConnection, connectBullMq, JOBS_QUEUE } from './connection.ts';

/**
 * How long a job stays locked to its worker without a renewal; the worker
 * renews it every half of that. A worker that dies (SIGKILL, OOM, lost
 * host) stops renewing, so its job is free again at most this long after.
 * 20 s tolerates a worker (or Redis) that cannot answer for up to 10 s
 * before the job is given to another one: image work runs on libuv's
 * threads, so the event loop that renews the lock stays free.
 */
export const LOCK_DURATION_MS = 20_000;
/**
 * How often some worker of the cluster (one at a time) moves jobs whose
 * lock lapsed back to waiting. A job of a dead worker is taken again
 * within `LOCK_DURATION_MS + 2 × STALLED_INTERVAL_MS` (30 s): its lock
 * lapses, one check marks it, the next moves it. A check is one small
 * script per interval for the whole cluster.
 */
export const STALLED_INTERVAL_MS = 5_000;
/**
 * Times a job may lose its worker and still be run again; once more and
 * it fails. Two survives a crash and an unlucky rolling restart, and stops
 * an input that kills every worker taking it after three of them.
 */
export const MAX_STALLED_COUNT = 2;

/** BullMQ's reason for a job that lost its worker more than `MAX_STALLED_COUNT` times. */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

/** What a runner reports for metrics. */
export interface JobRunObserver {
  /** A handler run ended after `seconds`. */
  onRun?(run: { name: string; outcome: 'completed' | 'failed'; seconds: number }): void;
  /** An attempt failed (`final`: no retry follows), by the handler's permanent reason, `stalled`, `unknown_job` or `error`. */
  onFailure?(failure: { name: string; reason: string; final: boolean }): void;
  /** A job whose worker stopped renewing its lock went back to waiting. */
  onStalled?(): void;
}

export interface BullMqJobRunnerOptions {
  url: string;
  /** The cluster's `REDIS_KEY_PREFIX`, as given to `BullMqJobQueue`. */
  keyPrefix: string;
  /** Names the worker on the jobs it takes (BullMQ's `processedBy`) and its connection in Redis's CLIENT LIST. */
  nodeId: string;
  handlers: JobHandlers;
  /** Jobs this process runs at once. */
  concurrency: number;
  logger: Logger;
  observer?: JobRunObserver;
  queueName?: string;
  /** Defaults: `LOCK_DURATION_MS`, `STALLED_INTERVAL_MS`, `MAX_STALLED_COUNT`. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
}

/** Thrown in place of `PermanentJobError`: BullMQ fails an `UnrecoverableError` without retrying it. */
class PermanentFailure extends UnrecoverableError {
  readonly reason: string;

  constructor(error: PermanentJobError) {
    super(`${error.reason}: ${error.message}`);
    this.reason = error.reason;
  }
}

/**
 * Runs `JobHandlers` on a BullMQ worker: each handler learns whether its
 * run is the final attempt, `PermanentJobError` fails the job at once, a
 * job whose worker died is taken again by another (see the lock settings
 * above), and `close` lets the running jobs finish within a bound.
 */
export class BullMqJobRunner {
  readonly #worker: Worker;
  readonly #redis: Redis;
  readonly #log: Logger;
  readonly #handlers: JobHandlers;
  readonly #observer: JobRunObserver;
  /** Jobs this process is running now. */
  #active = 0;

  private constructor(options: BullMqJobRunnerOptions) {
    this.#log = options.logger.child({ module: 'jobs' });
    this.#handlers = options.handlers;
    this.#observer = options.observer ?? {};
    // A worker's connection waits for Redis however long it takes (BullMQ's blocking reads require it).
    this.#redis = connectBullMq(
      { url: options.url, connectionName: `parley:${options.nodeId}:jobs-worker`, commandTimeoutMs: undefined },
      this.#log,
    );
    this.#worker = new Worker(options.queueName ?? JOBS_QUEUE, (job: Job) => this.#run(job), {
      connection: this.#redis,
      prefix: bullmqPrefix(options.keyPrefix),
      name: options.nodeId,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs ?? LOCK_DURATION_MS,
      stalledInterval: options.stalledIntervalMs ?? STALLED_INTERVAL_MS,
      maxStalledCount: options.maxStalledCount ?? MAX_STALLED_COUNT,
      autorun: false,
    });
    const warn = throttledWarning(this.#log, 'job worker failed');
    this.#worker.on('error', (error) => warn({ err: error }));
    this.#worker.on('failed', (job, error) => this.#failed(job, error));
    this.#worker.on('stalled', (jobId) => {
      this.#observer.onStalled?.();
      this.#log.warn({ jobId }, 'job lost its worker (lock expired); back in the queue');
    });
  }

  /** Starts taking jobs; resolves once connected to Redis (waiting for it if it is away). */
  static async start(options: BullMqJobRunnerOptions): Promise<BullMqJobRunner> {
    const runner = new BullMqJobRunner(options);
    void runner.#worker.run().catch((error: unknown) => runner.#log.error({ err: error }, 'job worker stopped'));
    await runner.#worker.waitUntilReady();
    return runner;
  }

  /**
   * Takes no more jobs, lets the running ones finish for up to `graceMs`,
   * then closes the connections. A job still running then keeps its lock
   * until the lock lapses, and another worker runs it again.
   */
  async close(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.#worker.close().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!finished) {
      this.#log.warn({ active: this.#active, graceMs }, 'jobs still running at shutdown; another worker takes them once their locks lapse');
    }
    await closeConnection(this.#redis, finished ? 1000 : 0);
  }

  async #run(job: Job): Promise<void> {
    const handlers = this.#handlers;
    const started = performance.now();
    const attempts = job.opts.attempts ?? 1;
    let outcome: 'completed' | 'failed' = 'failed';
    this.#active++;
    try {
      await runHandler(handlers, job.name, job.data, { finalAttempt: job.attemptsMade + 1 >= attempts });
      outcome = 'completed';
    } catch (error) {
      throw error instanceof PermanentJobError ? new PermanentFailure(error) : error;
    } finally {
      this.#active--;
      this.#observer.onRun?.({ name: metricName(handlers, job.name), outcome, seconds: (performance.now() - started) / 1000 });
    }
  }

  /** Every failed attempt, the handler's and BullMQ's own (a job that lost its worker too often). */
  #failed(job: Job | undefined, error: Error): void {
    const name = metricName(this.#handlers, job?.name);
    // BullMQ sets `finishedOn` when it moves a job to failed for good, not when it schedules a retry.
    const final = job === undefined || job.finishedOn !== undefined;
    const reason =
      error instanceof PermanentFailure ? error.reason : error.message === STALLED_TOO_OFTEN ? 'stalled' : failureReason(error);
    this.#observer.onFailure?.({ name, reason, final });
    const context = { job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, reason, err: error };
    if (!final) this.#log.warn(context, 'job failed; retrying');
    else if (error instanceof PermanentFailure) this.#log.warn(context, 'job failed for good: no retry can fix it');
    else this.#log.error(context, 'job failed for good');
  }
}

/** A job's name as a metric label: names come from Redis, so unknown ones are folded into one. */
function metricName(handlers: JobHandlers, name: string | undefined): string {
  return name !== undefined && isJobName(handlers, name) ? name : 'unknown';
}
