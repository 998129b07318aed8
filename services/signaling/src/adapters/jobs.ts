import { PermanentJobError, type JobHandlers, type JobName, type JobRun } from '../domain/media/job-queue.ts';

/**
 * Rules both job queues follow (BullMQ in a cluster, the in-process runner
 * in an embedded node), so that a job behaves the same in either mode.
 */

/**
 * Refuses a job id BullMQ would refuse, in both modes (so embedded mode does
 * not hide an id that fails in a cluster): BullMQ takes an integer-looking id
 * for its own counter ids, and `:` for the ids of scheduled runs
 * (`repeat:<name>:<millis>`). File ids (UUIDs) are fine.
 */
export function checkJobId(jobId: string): void {
  if (jobId === '' || jobId.includes(':') || `${Number.parseInt(jobId, 10)}` === jobId) {
    throw new Error(`Invalid job id ${JSON.stringify(jobId)}: it must be non-empty, contain no ":" and not be an integer`);
  }
}

/** Wait before attempt `attemptsMade + 1`: BullMQ's exponential backoff (base, 2 × base, 4 × base...). */
export function retryDelayMs(attemptsMade: number, baseDelayMs: number): number {
  return Math.round(2 ** (attemptsMade - 1) * baseDelayMs);
}

/** Thrown for a job name this process has no handler for (a newer pod enqueued it): retried, in case a newer worker takes it. */
export class UnknownJobError extends Error {
  constructor(name: string) {
    super(`No handler for job ${JSON.stringify(name)}`);
    this.name = 'UnknownJobError';
  }
}

/** A job's failure as a metric label: the handler's permanent reason, else a small fixed set. */
export function failureReason(error: unknown): string {
  if (error instanceof PermanentJobError) return error.reason;
  if (error instanceof UnknownJobError) return 'unknown_job';
  return 'error';
}

/** Whether `name` has a handler (job names come from Redis: anything may arrive). */
export function isJobName(handlers: JobHandlers, name: string): name is JobName {
  return Object.hasOwn(handlers, name);
}

/** Calls the handler of `name` with a payload read from the queue. */
export async function runHandler(handlers: JobHandlers, name: string, payload: unknown, run: JobRun): Promise<void> {
  if (!isJobName(handlers, name)) throw new UnknownJobError(name);
  // The payload was written by `enqueue` for this name; the map's types cannot follow it through Redis.
  const handler = handlers[name] as (payload: unknown, run: JobRun) => Promise<void>;
  await handler(payload, run);
}
