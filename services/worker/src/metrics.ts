import type { JobRunObserver, QueueDepth } from '@parley/signaling';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the worker exports on `/metrics`, and the observer that feeds it from the job runner. */
export interface WorkerMetrics {
  readonly registry: Registry;
  readonly observer: JobRunObserver;
}

export function createWorkerMetrics(options: {
  /** The queue's name, a label of the depth gauge. */
  queue: string;
  /** Read at each scrape. */
  queueDepth: () => Promise<QueueDepth>;
  onDepthError: (error: unknown) => void;
}): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // As on the pods: gauges named *_total break Prometheus naming rules; the labelled nodejs_active_* gauges stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  new Gauge({
    name: 'parley_job_queue_jobs',
    help: 'Jobs in the queue by state, across the cluster (read from Redis at each scrape; absent while Redis does not answer).',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const [state, count] of Object.entries(await options.queueDepth())) this.set({ queue: options.queue, state }, count);
      } catch (error) {
        options.onDepthError(error);
      }
    },
  });
  const duration = new Histogram({
    name: 'parley_job_duration_seconds',
    help: 'Time a job handler ran on this worker, by job name and outcome (completed or failed).',
    labelNames: ['name', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'parley_job_failures_total',
    help: 'Failed job attempts on this worker, by job name, reason (a permanent reason such as too_many_pixels, stalled, unknown_job or error) and whether a retry follows (final="false") or not.',
    labelNames: ['name', 'reason', 'final'],
    registers: [registry],
  });
  const stalled = new Counter({
    name: 'parley_job_stalls_total',
    help: 'Jobs this worker found abandoned by a worker that stopped (their lock lapsed) and put back in the queue.',
    registers: [registry],
  });
  return {
    registry,
    observer: {
      onRun: ({ name, outcome, seconds }) => duration.observe({ name, outcome }, seconds),
      onFailure: ({ name, reason, final }) => failures.inc({ name, reason, final: String(final) }),
      onStalled: () => stalled.inc(),
    },
  };
}
