/** Background jobs by name, with their payloads. */
export interface JobPayloads {
  /** Make an image's thumbnails, dimensions and placeholder. Its job id is the file id: enqueued twice, it runs once. */
  thumbnail: { fileId: string };
  /** Remove files never attached (or presigned and never completed) once they are old enough. */
  'sweep-files': Record<string, never>;
}
export type JobName = keyof JobPayloads;

/**
 * Thrown by a job handler for a failure no retry can fix (a decompression
 * bomb, bytes that are no image): the job fails at once instead of being retried.
 */
export class PermanentJobError extends Error {
  readonly reason: string;

  constructor(reason: string, message: string) {
    super(message);
    this.name = 'PermanentJobError';
    this.reason = reason;
  }
}

/**
 * Where work is handed off the request path. Cluster: BullMQ queues on
 * Redis, run by `services/worker`; embedded: an in-process runner calling the
 * same handlers with bounded concurrency.
 */
export interface JobQueue {
  /**
   * Adds a job; with `jobId`, a job already queued or running under that id
   * is not added again. Retried with exponential backoff unless the handler
   * throws `PermanentJobError`.
   */
  enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options?: { jobId?: string }): Promise<void>;
  /** Runs a job every `everyMs` (once across all pods and workers), replacing an earlier schedule of the same name. */
  schedule<N extends JobName>(name: N, payload: JobPayloads[N], everyMs: number): Promise<void>;
}

/** What a handler learns about the run it is in. */
export interface JobRun {
  /** No retry follows if this run fails: a handler records the failure for good. */
  finalAttempt: boolean;
}

/** A job's code: plain functions, one per name, registered where jobs run (the worker, or the embedded runner). */
export type JobHandlers = { [N in JobName]: (payload: JobPayloads[N], run: JobRun) => Promise<void> };

/** Attempts of a job before it fails for good (exponential backoff between them, from `RETRY_BASE_DELAY_MS`). */
export const JOB_ATTEMPTS = 5;
export const RETRY_BASE_DELAY_MS = 1000;
