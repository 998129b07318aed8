import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Database } from '@parley/db';
import { objectKeys, type BullMqJobQueue } from '@parley/signaling';
import { ManagedProcess, type WorkerProcess } from '@parley/testkit';
import { monotonicUs, type MonotonicWindow } from './cpu-profile.ts';
import { measureWindow, type WindowMemory } from './measured-window.ts';
import { CpuMeter, processTarget, type CpuReport, type CpuTarget } from './process-cpu.ts';

const bareSharpMain = path.resolve(import.meta.dirname, '../baseline/bare-sharp.ts');

/** One batch of thumbnails, by the worker or by bare sharp. */
export interface ThumbnailBatch {
  kind: 'bare sharp' | 'worker';
  size: string;
  round: number;
  /** Images finished: files ready (worker), or `process` calls returned (bare). */
  images: number;
  /** Files that ended `failed` (worker only). */
  failed: number;
  /** Worker: from the first enqueue until every file was ready or failed (read every 50 ms); bare: first call to last return. */
  wallMs: number;
  perSecond: number;
  /** Mean ms per image: one `process` call (bare), one thumbnail handler run from the worker's /metrics (worker). */
  meanMsPerImage: number;
  cpu: CpuReport;
  /** Of the worker or the bare process. */
  memory: WindowMemory;
  /** When the batch ran, on the monotonic clock (to select its samples from a CPU profile). */
  window?: MonotonicWindow;
}

/** How the worker is configured, and bare sharp like it. */
export interface SharpSettings {
  /** WORKER_CONCURRENCY: images at a time. */
  concurrency: number;
  /** SHARP_THREADS: libvips threads per image. */
  threads: number;
  /** THUMBNAIL_MAX_PIXELS. */
  maxInputPixels: number;
}

/** Rejects when `signal` aborts (Ctrl-C), so that a wait ends and cleanup runs. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * `bench/baseline/bare-sharp.ts` in a process of its own: `count` images
 * from the JPEG files `inputs`, `concurrency` at a time. `others` are
 * measured alongside (idle servers, the bench process).
 */
export async function runBareBatch(options: {
  size: string;
  round: number;
  inputs: readonly string[];
  count: number;
  settings: SharpSettings;
  others: readonly CpuTarget[];
  signal: AbortSignal;
  /** Run it with `--cpu-prof`, writing the profile here when it exits. */
  cpuProfileDirectory?: string;
}): Promise<ThumbnailBatch> {
  const { settings } = options;
  const profiling = options.cpuProfileDirectory ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${options.cpuProfileDirectory}` } : {};
  const child = await ManagedProcess.start('bare-sharp', {
    command: process.execPath,
    args: [bareSharpMain, JSON.stringify({ ...settings, count: options.count, inputs: options.inputs })],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...profiling },
    readyLine: /"msg":"ready"/,
    readyTimeoutMs: 120_000,
  });
  try {
    const pid = child.pid!;
    const meter = new CpuMeter([processTarget('bare sharp (baseline process)', 'baseline', pid), ...options.others]);
    const measured = await measureWindow({
      meter,
      pid,
      work: async () => {
        const finished = child.waitForLine(/^(\{"msg":"(?:done|failed)".*)$/, 600_000);
        const fromUs = monotonicUs();
        process.kill(pid, 'SIGUSR1');
        const exited = child.exited.then((code) => {
          throw new Error(`bare sharp exited with ${code} during the batch:\n${child.recentLines.join('\n')}`);
        });
        const line = (await Promise.race([finished, exited, aborted(options.signal)]))[1]!;
        const outcome = JSON.parse(line) as { msg: string; error?: string; images: number; wallMs: number; latenciesMs: number[] };
        if (outcome.msg !== 'done') throw new Error(`bare sharp failed: ${outcome.error}`);
        return { ...outcome, window: { fromUs, toUs: monotonicUs() } };
      },
    });
    const { images, wallMs, latenciesMs, window } = measured.result;
    return {
      kind: 'bare sharp',
      size: options.size,
      round: options.round,
      images,
      failed: 0,
      wallMs,
      perSecond: images / (wallMs / 1000),
      meanMsPerImage: latenciesMs.reduce((sum, ms) => sum + ms, 0) / latenciesMs.length,
      cpu: measured.cpu,
      memory: measured.memory,
      window,
    };
  } finally {
    await child.stop('SIGTERM', 5000);
  }
}

/**
 * Files as a pod leaves them after an image upload: the original stored at
 * `files/<id>`, the row `processing`. Returns their ids; image i is `images[i mod n]`.
 */
export async function prepareFiles(options: {
  db: Database['db'];
  s3: S3Client;
  bucket: string;
  ownerId: string;
  images: readonly Buffer[];
  count: number;
  name: string;
}): Promise<string[]> {
  const files = Array.from({ length: options.count }, (_, index) => ({ id: randomUUID(), data: options.images[index % options.images.length]! }));
  for (let first = 0; first < files.length; first += 4) {
    await Promise.all(
      files.slice(first, first + 4).map(({ id, data }) =>
        options.s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: objectKeys.original(id), Body: data, ContentType: 'image/jpeg' })),
      ),
    );
  }
  await options.db
    .insertInto('files')
    .values(
      files.map(({ id, data }, index) => ({
        id,
        owner_id: options.ownerId,
        name: `${options.name}-${index}.jpg`,
        purpose: 'attachment' as const,
        status: 'processing' as const,
        size: data.length,
        content_type: 'image/jpeg',
      })),
    )
    .execute();
  return files.map((file) => file.id);
}

/** The worker's thumbnail handler runs so far: count and total seconds (its /metrics histogram). */
async function handlerRuns(worker: WorkerProcess): Promise<{ count: number; seconds: number }> {
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  const value = (suffix: 'sum' | 'count') => {
    const line = text
      .split('\n')
      .find((candidate) => candidate.startsWith(`parley_job_duration_seconds_${suffix}{`) && candidate.includes('name="thumbnail"') && candidate.includes('outcome="completed"'));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  return { count: value('count'), seconds: value('sum') };
}

/** Files among `ids` by status. */
async function statuses(db: Database['db'], ids: readonly string[]): Promise<Record<string, number>> {
  const rows = await db.selectFrom('files').select(['status', (eb) => eb.fn.countAll<string>().as('count')]).where('id', 'in', ids).groupBy('status').execute();
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
}

/**
 * Queues a thumbnail job per file (job id = file id, as a pod queues it) to
 * an idle, warmed-up worker and waits until every file is ready or failed.
 */
export async function runWorkerBatch(options: {
  size: string;
  round: number;
  worker: WorkerProcess;
  queue: BullMqJobQueue;
  db: Database['db'];
  fileIds: readonly string[];
  meter: CpuMeter;
  signal: AbortSignal;
  timeoutMs: number;
}): Promise<ThumbnailBatch> {
  const pid = options.worker.process?.pid;
  if (pid === undefined) throw new Error('the worker has no pid');
  const runsBefore = await handlerRuns(options.worker);
  const measured = await measureWindow({
    meter: options.meter,
    pid,
    work: async () => {
      const started = performance.now();
      const fromUs = monotonicUs();
      await Promise.all(options.fileIds.map((fileId) => options.queue.enqueue('thumbnail', { fileId }, { jobId: fileId })));
      for (;;) {
        const counts = await statuses(options.db, options.fileIds);
        const ready = counts.ready ?? 0;
        const failed = counts.failed ?? 0;
        if (ready + failed >= options.fileIds.length) return { ready, failed, wallMs: performance.now() - started, window: { fromUs, toUs: monotonicUs() } };
        options.signal.throwIfAborted();
        if (performance.now() - started > options.timeoutMs) throw new Error(`only ${ready} of ${options.fileIds.length} files ready after ${options.timeoutMs / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  });
  const runsAfter = await handlerRuns(options.worker);
  const { ready, failed, wallMs, window: span } = measured.result;
  const handled = runsAfter.count - runsBefore.count;
  return {
    kind: 'worker',
    size: options.size,
    round: options.round,
    images: ready,
    failed,
    wallMs,
    perSecond: ready / (wallMs / 1000),
    meanMsPerImage: handled > 0 ? ((runsAfter.seconds - runsBefore.seconds) / handled) * 1000 : Number.NaN,
    cpu: measured.cpu,
    memory: measured.memory,
    window: span,
  };
}
