import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  JOB_ATTEMPTS,
  RETRY_BASE_DELAY_MS,
  type JobName,
  type JobPayloads,
  type JobQueue,
} from '../../domain/media/job-queue.ts';
import { throttledWarning, type Logger } from '../../logger.ts';
import { checkJobId } from '../jobs.ts';
import { bullmqPrefix, closeConnection, connectBullMq, JOBS_QUEUE } from './connection.ts';

/**
 * Finished jobs kept for inspection (BullMQ evicts past either bound, each
 * time another job finishes). Failed ones stay longer: they are what an
 * operator looks at.
 */
const KEEP_COMPLETED = { age: 60 * 60, count: 1000 };
const KEEP_FAILED = { age: 7 * 24 * 60 * 60, count: 10_000 };

/** Jobs of the queue by state (`waiting` and `prioritized` are what workers have yet to take). */
export type QueueDepth = Record<(typeof DEPTH_STATES)[number], number>;
const DEPTH_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'paused', 'waiting-children', 'completed', 'failed'] as const;

export interface BullMqJobQueueOptions {
  url: string;
  /** The cluster's `REDIS_KEY_PREFIX`: clusters sharing a Redis keep apart. */
  keyPrefix: string;
  /** Names the connection in Redis's CLIENT LIST: `parley:<nodeId>:jobs`. */
  nodeId: string;
  /** `enqueue`, `schedule`, `queueDepth` and `ping` fail after this long without an answer from Redis. */
  timeoutMs: number;
  logger: Logger;
  queueName?: string;
  /** Default `JOB_ATTEMPTS` and `RETRY_BASE_DELAY_MS`. */
  attempts?: number;
  retryBaseDelayMs?: number;
}

/**
 * `JobQueue` over one BullMQ queue, on a Redis connection of its own. The
 * job id is BullMQ's `jobId`: an id already queued or running is not added
 * again. BullMQ also ignores an id it still keeps as completed or failed
 * (see `KEEP_*`); the port promises a new run then, so such a job is given
 * the new payload and moved back to waiting, its attempts counted afresh.
 */
export class BullMqJobQueue implements JobQueue {
  readonly #queue: Queue;
  readonly #redis: Redis;
  readonly #timeoutMs: number;
  readonly #jobOptions: JobsOptions;

  constructor(options: BullMqJobQueueOptions) {
    const log = options.logger.child({ module: 'jobs' });
    this.#redis = connectBullMq(
      { url: options.url, connectionName: `parley:${options.nodeId}:jobs`, commandTimeoutMs: options.timeoutMs },
      log,
    );
    this.#queue = new Queue(options.queueName ?? JOBS_QUEUE, {
      connection: this.#redis,
      prefix: bullmqPrefix(options.keyPrefix),
    });
    const warn = throttledWarning(log, 'job queue failed');
    this.#queue.on('error', (error) => warn({ err: error }));
    this.#timeoutMs = options.timeoutMs;
    this.#jobOptions = {
      attempts: options.attempts ?? JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: options.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS },
      removeOnComplete: KEEP_COMPLETED,
      removeOnFail: KEEP_FAILED,
    };
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: { jobId?: string } = {}): Promise<void> {
    const { jobId } = options;
    if (jobId === undefined) {
      await this.#withDeadline('enqueue', () => this.#queue.add(name, payload, this.#jobOptions));
      return;
    }
    checkJobId(jobId);
    await this.#withDeadline('enqueue', async () => {
      // Two tries: another producer may move the same finished job meanwhile.
      for (let tries = 1; ; tries++) {
        const job = await this.#queue.add(name, payload, { ...this.#jobOptions, jobId });
        const state = await job.getState();
        if (state !== 'completed' && state !== 'failed') return;
        try {
          await job.updateData(payload);
          await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
          return;
        } catch (error) {
          if (tries >= 2) throw error;
        }
      }
    });
  }

  /** A job scheduler named after the job: upserting it replaces an earlier schedule. BullMQ runs the first one at once. */
  async schedule<N extends JobName>(name: N, payload: JobPayloads[N], everyMs: number): Promise<void> {
    await this.#withDeadline('schedule', () =>
      this.#queue.upsertJobScheduler(name, { every: everyMs }, { name, data: payload, opts: this.#jobOptions }),
    );
  }

  /** Jobs by state, across every producer and worker of the cluster. */
  async queueDepth(): Promise<QueueDepth> {
    const counts = await this.#withDeadline('queueDepth', () => this.#queue.getJobCounts(...DEPTH_STATES));
    return Object.fromEntries(DEPTH_STATES.map((state) => [state, counts[state] ?? 0])) as QueueDepth;
  }

  async ping(): Promise<void> {
    if (this.#redis.status !== 'ready') throw new Error(`job queue redis connection is ${this.#redis.status}`);
    await this.#withDeadline('ping', () => this.#redis.ping());
  }

  async close(): Promise<void> {
    await this.#withDeadline('close', () => this.#queue.close()).catch(() => {});
    await closeConnection(this.#redis);
  }

  /** Bounds what BullMQ may wait on: at start it waits for Redis before sending anything, however long that takes. */
  async #withDeadline<T>(what: string, operation: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`The job queue did not answer within ${this.#timeoutMs} ms (${what})`)), this.#timeoutMs);
    });
    try {
      return await Promise.race([operation(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}
