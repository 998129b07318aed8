import pLimit, { type LimitFunction } from 'p-limit';
import {
  JOB_ATTEMPTS,
  PermanentJobError,
  RETRY_BASE_DELAY_MS,
  type JobHandlers,
  type JobName,
  type JobPayloads,
  type JobQueue,
} from '../../domain/media/job-queue.ts';
import type { Logger } from '../../logger.ts';
import { checkJobId, failureReason, retryDelayMs, runHandler } from '../jobs.ts';

interface QueuedJob {
  name: JobName;
  payload: unknown;
  /** The job id, when it has one: no second job under it while this one is queued or running. */
  key: string | undefined;
  attemptsMade: number;
}

/**
 * The embedded mode's job queue: the same handlers as the worker, run in
 * this process, at most `concurrency` at once, retried with BullMQ's
 * exponential backoff. Handlers are given to `start` after construction,
 * since the services they use may themselves need this queue.
 *
 * Jobs live in this process only: those still queued when it stops are
 * lost, as in any process that dies (the file sweep enqueues files stuck
 * in processing again).
 */
export class InProcessJobQueue implements JobQueue {
  readonly #log: Logger;
  readonly #limit: LimitFunction;
  readonly #attempts: number;
  readonly #retryBaseDelayMs: number;
  /** Ids of the jobs queued, waiting for a retry, or running. */
  readonly #taken = new Set<string>();
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  readonly #schedules = new Map<JobName, NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();
  /** Jobs enqueued before `start`. */
  #early: QueuedJob[] = [];
  #handlers: JobHandlers | undefined;
  #closed = false;

  constructor(options: { logger: Logger; concurrency: number; attempts?: number; retryBaseDelayMs?: number }) {
    this.#log = options.logger.child({ module: 'jobs' });
    this.#limit = pLimit(options.concurrency);
    this.#attempts = options.attempts ?? JOB_ATTEMPTS;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS;
  }

  /** Starts running jobs, those enqueued until now first. */
  start(handlers: JobHandlers): void {
    if (this.#closed) throw new Error('The job queue is closed');
    if (this.#handlers) throw new Error('The job queue is already started');
    this.#handlers = handlers;
    const early = this.#early;
    this.#early = [];
    for (const job of early) this.#submit(job);
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: { jobId?: string } = {}): Promise<void> {
    if (options.jobId !== undefined) checkJobId(options.jobId);
    this.#add({ name, payload, key: options.jobId, attemptsMade: 0 });
  }

  /** Runs the job now and every `everyMs` (as BullMQ does); a run still going when the next is due is not doubled. */
  async schedule<N extends JobName>(name: N, payload: JobPayloads[N], everyMs: number): Promise<void> {
    if (this.#closed) throw new Error('The job queue is closed');
    clearInterval(this.#schedules.get(name));
    // BullMQ's ids of scheduled runs: no checked job id can take it.
    const key = `repeat:${name}`;
    const due = () => this.#add({ name, payload, key, attemptsMade: 0 });
    const timer = setInterval(due, everyMs);
    timer.unref();
    this.#schedules.set(name, timer);
    due();
  }

  /** Stops schedules and retries, drops the jobs not started, and waits for the running ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#schedules.values()) clearInterval(timer);
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#schedules.clear();
    this.#retryTimers.clear();
    this.#limit.clearQueue();
    this.#early = [];
    await Promise.all(this.#running);
  }

  #add(job: QueuedJob): void {
    if (this.#closed) throw new Error('The job queue is closed');
    if (job.key !== undefined) {
      if (this.#taken.has(job.key)) return;
      this.#taken.add(job.key);
    }
    if (this.#handlers) this.#submit(job);
    else this.#early.push(job);
  }

  #submit(job: QueuedJob): void {
    void this.#limit(() => this.#attempt(job));
  }

  async #attempt(job: QueuedJob): Promise<void> {
    const handlers = this.#handlers;
    if (this.#closed || !handlers) return this.#release(job);
    const attempt = job.attemptsMade + 1;
    const running = runHandler(handlers, job.name, job.payload, { finalAttempt: attempt >= this.#attempts }).then(
      () => this.#release(job),
      (error: unknown) => this.#failed(job, attempt, error),
    );
    this.#running.add(running);
    try {
      await running;
    } finally {
      this.#running.delete(running);
    }
  }

  #failed(job: QueuedJob, attempt: number, error: unknown): void {
    const context = { job: job.name, jobId: job.key, attempt, reason: failureReason(error), err: error };
    if (error instanceof PermanentJobError) {
      this.#release(job);
      this.#log.warn(context, 'job failed for good: no retry can fix it');
      return;
    }
    if (attempt >= this.#attempts || this.#closed) {
      this.#release(job);
      this.#log.error(context, this.#closed ? 'job failed while the queue closed; not retried' : 'job failed for good: attempts exhausted');
      return;
    }
    const delayMs = retryDelayMs(attempt, this.#retryBaseDelayMs);
    this.#log.warn({ ...context, retryInMs: delayMs }, 'job failed; retrying');
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      this.#submit({ ...job, attemptsMade: attempt });
    }, delayMs);
    timer.unref();
    this.#retryTimers.add(timer);
  }

  #release(job: QueuedJob): void {
    if (job.key !== undefined) this.#taken.delete(job.key);
  }
}
