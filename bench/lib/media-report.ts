import type { BackingServices } from './backing-services.ts';
import { ratio } from './latency-stats.ts';
import type { Allocator } from './malloc.ts';
import type { WindowMemory } from './measured-window.ts';
import type { LatencySummary } from './percentiles.ts';
import type { CpuReport } from './process-cpu.ts';
import type { ScenarioResult, Table } from './scenario.ts';
import type { ThumbnailBatch } from './thumbnail-batches.ts';

export interface MediaSettings {
  worker: {
    concurrency: number;
    sharpThreads: number;
    maxInputPixels: number;
    /** The worker's C allocator. */
    malloc: Allocator;
  };
  sizes: ReadonlyArray<{ name: string; width: number; height: number; count: number }>;
  variants: number;
  rounds: number;
  warmupJobsPerSize: number;
  jobTimeoutMs: number;
  upload: { bytes: number; clients: number; count: number; warmup: number };
  targets: { thumbnails: number; uploads: number };
  cpuProfile: boolean;
}

/** The main threads of the worker and of bare sharp during one size's batches (`--cpu-prof`): self time by origin, in ms. */
export interface ThumbnailProfile {
  size: string;
  bare: { images: number; origins: Array<{ origin: string; ms: number }> };
  worker: { images: number; origins: Array<{ origin: string; ms: number }> };
}

/** A window where processes outside the benchmark used more than this share of a core: its figures are low. */
const DISTURBED_PERCENT_OF_CORE = 25;
/** Origins listed per size in the profile table. */
const PROFILE_ROWS = 14;
const BUSY = 'main thread busy (every origin but idle)';

export interface ThumbnailSize {
  name: string;
  width: number;
  height: number;
  count: number;
  jpegBytes: number[];
}

/** The upload measurements, baseline first. */
export const UPLOAD_KINDS = ['direct PutObject', 'direct multipart (the pod’s S3 calls)', 'through the pod'] as const;
export type UploadKind = (typeof UPLOAD_KINDS)[number];

export interface UploadRun {
  kind: UploadKind;
  round: number;
  uploads: number;
  errors: Record<string, number>;
  wallMs: number;
  mibPerSecond: number;
  latencyMs: LatencySummary;
  cpu: CpuReport;
  /** Of the pod (idle during the direct runs). */
  podMemory: WindowMemory;
}

/** Several windows as one: CPU summed per process over the summed wall time. */
interface CombinedCpu {
  wallMs: number;
  machineBusyPercent: number;
  otherPercentOfCore: number;
  cores: number;
  targets: Array<{ name: string; role: string; cpuMs: number; percentOfCore: number }>;
}

function combineCpu(reports: readonly CpuReport[]): CombinedCpu {
  const wallMs = reports.reduce((sum, report) => sum + report.wallMs, 0);
  const weighted = (of: (report: CpuReport) => number) => reports.reduce((sum, report) => sum + of(report) * report.wallMs, 0) / wallMs;
  const byName = new Map<string, { name: string; role: string; cpuMs: number }>();
  for (const report of reports) {
    for (const target of report.targets) {
      const entry = byName.get(target.name) ?? { name: target.name, role: target.role, cpuMs: 0 };
      entry.cpuMs += target.cpuMs;
      byName.set(target.name, entry);
    }
  }
  return {
    wallMs,
    machineBusyPercent: weighted((report) => report.machineBusyPercent),
    otherPercentOfCore: weighted((report) => report.otherPercentOfCore),
    cores: reports[0]?.cores ?? Number.NaN,
    targets: [...byName.values()].map((target) => ({ ...target, percentOfCore: (target.cpuMs / wallMs) * 100 })),
  };
}

const mib = (kb: number) => kb / 1024;
const landing = (value: number, target: number) => (!Number.isFinite(value) ? '–' : value >= target ? 'met' : 'not met');
const busiest = (cpu: CombinedCpu | CpuReport, count = 3) =>
  [...cpu.targets]
    .filter((target) => Number.isFinite(target.cpuMs))
    .sort((a, b) => b.cpuMs - a.cpuMs)
    .slice(0, count)
    .map((target) => `${target.name} ${target.percentOfCore.toFixed(0)}%`)
    .join(', ');

interface ThumbnailFigures {
  size: string;
  bare: { batches: ThumbnailBatch[]; images: number; perSecond: number; meanMs: number; cpu: CombinedCpu };
  worker: { batches: ThumbnailBatch[]; images: number; failed: number; perSecond: number; meanMs: number; cpu: CombinedCpu };
  ratio: number;
}

function thumbnailFigures(size: string, batches: readonly ThumbnailBatch[]): ThumbnailFigures {
  const side = (kind: ThumbnailBatch['kind']) => {
    const of = batches.filter((batch) => batch.size === size && batch.kind === kind);
    const images = of.reduce((sum, batch) => sum + batch.images, 0);
    const wallMs = of.reduce((sum, batch) => sum + batch.wallMs, 0);
    return {
      batches: of,
      images,
      failed: of.reduce((sum, batch) => sum + batch.failed, 0),
      perSecond: images / (wallMs / 1000),
      meanMs: of.reduce((sum, batch) => sum + batch.meanMsPerImage * batch.images, 0) / images,
      cpu: combineCpu(of.map((batch) => batch.cpu)),
    };
  };
  const bare = side('bare sharp');
  const worker = side('worker');
  return { size, bare, worker, ratio: worker.perSecond / bare.perSecond };
}

/** CPU ms per image: the bare process; and on the worker's path, each process (the bench process left out: it only queues and polls). */
function cpuSplit(figure: ThumbnailFigures): { bare: number; worker: number; objectStore: number; postgres: number; redis: number } {
  const perImage = (cpu: CombinedCpu, role: string, images: number) =>
    cpu.targets.filter((target) => target.role === role).reduce((sum, target) => sum + target.cpuMs, 0) / images;
  const { cpu, images } = figure.worker;
  return {
    bare: perImage(figure.bare.cpu, 'baseline', figure.bare.images),
    worker: perImage(cpu, 'worker', images),
    objectStore: perImage(cpu, 'object store', images),
    postgres: perImage(cpu, 'postgres', images),
    redis: perImage(cpu, 'redis', images),
  };
}

interface UploadFigures {
  kind: UploadKind;
  runs: UploadRun[];
  mibPerSecond: number;
  cpu: CombinedCpu;
  mib: number;
}

function uploadFigures(kind: UploadKind, runs: readonly UploadRun[], bytes: number): UploadFigures {
  const of = runs.filter((run) => run.kind === kind);
  const uploaded = of.reduce((sum, run) => sum + run.uploads, 0) * (bytes / 1024 / 1024);
  const wallMs = of.reduce((sum, run) => sum + run.wallMs, 0);
  return { kind, runs: of, mib: uploaded, mibPerSecond: uploaded / (wallMs / 1000), cpu: combineCpu(of.map((run) => run.cpu)) };
}

export function mediaReport(input: {
  settings: MediaSettings;
  services: BackingServices;
  thumbnails: { batches: ThumbnailBatch[]; sizes: ThumbnailSize[]; workerLog: string[]; profile?: ThumbnailProfile[] };
  uploads: { runs: UploadRun[]; podLog: string[] };
}): ScenarioResult {
  const { settings } = input;
  const { batches, sizes } = input.thumbnails;
  const figures = sizes.map((size) => thumbnailFigures(size.name, batches));
  const uploads = UPLOAD_KINDS.map((kind) => uploadFigures(kind, input.uploads.runs, settings.upload.bytes));
  const direct = uploads[0]!;
  const throughPod = uploads[2]!;
  const uploadRatio = throughPod.mibPerSecond / direct.mibPerSecond;

  const batchTable: Table = {
    title: 'Thumbnails, batch by batch (bare sharp and the worker alternate: A B, B A, A B…)',
    columns: ['size', 'round', 'run', 'images', 'failed', 'seconds', 'images/s', 'mean ms per image', 'machine busy %', 'everything else % of a core'],
    rows: batches.map((batch) => [
      batch.size,
      batch.round + 1,
      batch.kind,
      batch.images,
      batch.failed,
      batch.wallMs / 1000,
      batch.perSecond,
      batch.meanMsPerImage,
      batch.cpu.machineBusyPercent,
      batch.cpu.otherPercentOfCore,
    ]),
  };

  const thumbnailGoal: Table = {
    title: `Thumbnails per second: the worker ÷ bare sharp (all rounds together), target ≥ ${settings.targets.thumbnails}×`,
    columns: [
      'size',
      'bare sharp images/s',
      'worker files/s',
      'worker ÷ bare',
      'target',
      'where we land',
      'bare ms per image',
      'worker ms per job',
      'CPU ms per image: bare sharp',
      'worker process',
      'S3 server + Postgres + Redis',
    ],
    rows: figures.map((figure) => {
      const split = cpuSplit(figure);
      return [
        figure.size,
        figure.bare.perSecond,
        figure.worker.perSecond,
        ratio(figure.worker.perSecond, figure.bare.perSecond),
        `≥ ${settings.targets.thumbnails}×`,
        landing(figure.ratio, settings.targets.thumbnails),
        figure.bare.meanMs,
        figure.worker.meanMs,
        split.bare,
        split.worker,
        split.objectStore + split.postgres + split.redis,
      ];
    }),
  };

  const thumbnailCpu: Table = {
    title: 'Thumbnails: CPU by process (all rounds together): % of one core, and ms per image',
    columns: ['size', 'run', 'process', 'CPU % of a core', 'CPU ms per image'],
    rows: figures.flatMap((figure) =>
      (['bare', 'worker'] as const).flatMap((side) => {
        const { cpu, images } = figure[side];
        const run = side === 'bare' ? 'bare sharp' : 'worker';
        return [
          ...cpu.targets.map((target) => [figure.size, run, target.name, target.percentOfCore, target.cpuMs / images]),
          [figure.size, run, 'everything else on the machine (not this benchmark)', cpu.otherPercentOfCore, Number.NaN],
          [figure.size, run, `whole machine (${cpu.cores} cores = ${cpu.cores * 100}%)`, cpu.machineBusyPercent * cpu.cores, Number.NaN],
        ];
      }),
    ),
  };

  const memory: Table = {
    title: `Memory of the worker (WORKER_CONCURRENCY ${settings.worker.concurrency}) and of bare sharp during each batch (MiB)`,
    columns: ['size', 'round', 'process', 'RSS before', 'max RSS sampled', 'VmHWM during', 'samples'],
    rows: batches.map((batch) => [
      batch.size,
      batch.round + 1,
      batch.kind,
      mib(batch.memory.before.rssKb),
      mib(batch.memory.peak.maxRssKb),
      batch.memory.peakWasReset ? mib(batch.memory.peak.hwmKb) : `${mib(batch.memory.peak.hwmKb).toFixed(1)} (since start)`,
      batch.memory.peak.samples,
    ]),
  };

  const uploadRuns: Table = {
    title: `Uploads of ${settings.upload.bytes / 1024 / 1024} MiB, ${settings.upload.clients} clients in a closed loop, run by run (the order reverses each round)`,
    columns: ['kind', 'round', 'uploads', 'errors', 'MiB/s', 'p50 ms', 'p99 ms', 'max ms', 'machine busy %', 'everything else % of a core'],
    rows: input.uploads.runs.map((run) => [
      run.kind,
      run.round + 1,
      run.uploads,
      Object.entries(run.errors).map(([code, count]) => `${count} ${code}`).join(', ') || '0',
      run.mibPerSecond,
      run.latencyMs.p50,
      run.latencyMs.p99,
      run.latencyMs.max,
      run.cpu.machineBusyPercent,
      run.cpu.otherPercentOfCore,
    ]),
  };

  const uploadGoal: Table = {
    title: `Upload throughput ÷ direct PutObject (all rounds together), target for the pod ≥ ${settings.targets.uploads}×`,
    columns: ['kind', 'MiB/s', '÷ direct PutObject', 'target', 'where we land'],
    rows: uploads.map((figure) => [
      figure.kind,
      figure.mibPerSecond,
      ratio(figure.mibPerSecond, direct.mibPerSecond),
      figure === throughPod ? `≥ ${settings.targets.uploads}×` : '',
      figure === throughPod ? landing(uploadRatio, settings.targets.uploads) : '',
    ]),
  };

  const uploadCpu: Table = {
    title: 'Uploads: CPU by process (all rounds together): % of one core, and ms per MiB uploaded',
    columns: ['kind', 'process', 'CPU % of a core', 'CPU ms per MiB'],
    rows: uploads.flatMap((figure) => [
      ...figure.cpu.targets.map((target) => [figure.kind, target.name, target.percentOfCore, target.cpuMs / figure.mib]),
      [figure.kind, 'everything else on the machine (not this benchmark)', figure.cpu.otherPercentOfCore, Number.NaN],
      [figure.kind, `whole machine (${figure.cpu.cores} cores = ${figure.cpu.cores * 100}%)`, figure.cpu.machineBusyPercent * figure.cpu.cores, Number.NaN],
    ]),
  };

  const profileTable: Table[] = input.thumbnails.profile
    ? [
        {
          title: 'Main threads during the batches (--cpu-prof): self time by origin, ms per image',
          columns: ['size', 'origin', 'bare sharp', 'worker', 'worker − bare'],
          rows: input.thumbnails.profile.flatMap(({ size, bare, worker }) => {
            const perImage = (side: typeof bare) => {
              const byOrigin = new Map(side.origins.map((entry) => [entry.origin, entry.ms / side.images]));
              byOrigin.set(BUSY, side.origins.filter((entry) => !entry.origin.startsWith('idle')).reduce((sum, entry) => sum + entry.ms, 0) / side.images);
              return byOrigin;
            };
            const [ofBare, ofWorker] = [perImage(bare), perImage(worker)];
            const origins = [...new Set([...ofBare.keys(), ...ofWorker.keys()])]
              .sort((a, b) => (ofWorker.get(b) ?? 0) - (ofWorker.get(a) ?? 0))
              .slice(0, PROFILE_ROWS);
            return origins.map((origin) => {
              const [inBare, inWorker] = [ofBare.get(origin) ?? 0, ofWorker.get(origin) ?? 0];
              return [size, origin, inBare, inWorker, inWorker - inBare];
            });
          }),
        },
      ]
    : [];

  const workerBatches = batches.filter((batch) => batch.kind === 'worker');
  const podRuns = input.uploads.runs.filter((run) => run.kind === 'through the pod');
  const podPeakMib = Math.max(...podRuns.map((run) => mib(run.podMemory.peak.hwmKb)));

  const notes = [
    `Bare sharp (bench/baseline/bare-sharp.ts) calls SharpImageProcessor.process — the worker's own image step: one decode to at most 1024 px, the 256 and 1024 px WebPs, the ThumbHash — in a process of its own with the worker's settings (SHARP_THREADS ${settings.worker.sharpThreads}, THUMBNAIL_MAX_PIXELS ${settings.worker.maxInputPixels}), ${settings.worker.concurrency} images at a time like WORKER_CONCURRENCY, each a fresh in-memory copy of a JPEG read from disk before the batch. It touches no S3, Postgres, Redis or BullMQ.`,
    `The worker (services/worker, started by testkit's startWorker) runs each thumbnail job in full: read the files row, GET the original from S3 (s3rver, a process of its own), the same SharpImageProcessor.process, PUT both WebPs, mark the row ready, announce it through Redis; BullMQ moves the job. Files are staged as a pod leaves them (original at files/<id>, row processing); the jobs are queued with the file id as job id, all at once, to an idle worker warmed up by ${settings.warmupJobsPerSize} jobs per size; the batch ends when every row is ready or failed (read every 50 ms). "worker ms per job" is the handler's mean run time from the worker's /metrics; "bare ms per image" is the mean process() call.`,
    `Photos: ${sizes.map((size) => `${size.name} ${size.width} × ${size.height}, ${settings.variants} JPEGs (quality 85) of ${(size.jpegBytes.reduce((sum, b) => sum + b, 0) / size.jpegBytes.length / 1024).toFixed(0)} KiB on average`).join('; ')}: colour gradients with Gaussian grain made at a quarter size and enlarged, so they decode like photos (bench/lib/test-photos.ts).`,
    ...figures.map((figure) => {
      const split = cpuSplit(figure);
      const path = split.worker + split.objectStore + split.postgres + split.redis;
      return (
        `${figure.size}: CPU per image, bare sharp ${split.bare.toFixed(0)} ms; on the worker's path the worker process ${split.worker.toFixed(0)} ms ` +
        `(${(split.worker - split.bare).toFixed(0)} ms more than bare sharp: its S3 client, BullMQ, Postgres and Redis calls, streams, garbage), the S3 server ${split.objectStore.toFixed(1)} ms, ` +
        `Postgres ${split.postgres.toFixed(1)} ms, Redis ${split.redis.toFixed(1)} ms. Bare sharp at ${settings.worker.concurrency} at a time keeps ${figure.bare.cpu.targets.find((target) => target.role === 'baseline')?.percentOfCore.toFixed(0)}% of a core busy ` +
        `(machine ${figure.bare.cpu.machineBusyPercent.toFixed(0)}% busy), so with the cores full, throughput goes as 1 ÷ CPU per image: ${split.bare.toFixed(0)} ÷ ${path.toFixed(0)} = ${(split.bare / path).toFixed(2)}× expected, ` +
        `${figure.ratio.toFixed(2)}× measured. With the S3 server off these cores (a real S3), ${split.bare.toFixed(0)} ÷ ${(path - split.objectStore).toFixed(0)} = ${(split.bare / (path - split.objectStore)).toFixed(2)}×.`
      );
    }),
    `The worker's peak RSS at WORKER_CONCURRENCY ${settings.worker.concurrency} (VmHWM, reset before each batch): ${figures
      .map((figure) => `${figure.size} ${Math.max(...figure.worker.batches.map((batch) => mib(batch.memory.peak.hwmKb))).toFixed(0)} MiB`)
      .join(', ')}; bare sharp's, a fresh process each batch: ${figures
      .map((figure) => `${figure.size} ${Math.max(...figure.bare.batches.map((batch) => mib(batch.memory.peak.hwmKb))).toFixed(0)} MiB`)
      .join(', ')}. The worker's RSS before each batch, in order: ${workerBatches.map((batch) => mib(batch.memory.before.rssKb).toFixed(0)).join(' → ')} MiB (one process throughout: what it keeps between batches).`,
    ...disturbedNote(
      'thumbnail batches',
      batches.map((batch) => ({ label: `${batch.size} round ${batch.round + 1} ${batch.kind}`, cpu: batch.cpu })),
    ),
    `Uploads: the body is ${settings.upload.bytes / 1024 / 1024} MiB of random bytes (not an image: no thumbnail job), sent from memory by the bench process, ${settings.upload.clients} at a time, ${settings.upload.count} per run, in ${settings.rounds} rounds whose order reverses. "through the pod": POST /api/uploads (multipart/form-data), the pod streams it to S3 with lib-storage (5 MiB parts, 2 in flight: CreateMultipartUpload, two UploadParts, CompleteMultipartUpload). "direct PutObject": one PutObject of the same bytes from the bench process with the S3 SDK set up as the pod's (SigV4-signed, the SDK's default CRC32 checksum) — the issue's baseline. "direct multipart": the pod's S3 calls made from the bench process (lib-storage, same part size and parts in flight): the pod's ratio to it is what the pod itself costs, its ratio to PutObject what multipart costs on this S3 server.`,
    ...uploads.map(
      (figure) =>
        `${figure.kind}: machine ${figure.cpu.machineBusyPercent.toFixed(0)}% busy; busiest ${busiest(figure.cpu)}; everything else on the machine ${figure.cpu.otherPercentOfCore.toFixed(0)}% of a core.`,
    ),
    `The pod's RSS was ${mib(podRuns[0]?.podMemory.before.rssKb ?? Number.NaN).toFixed(0)} MiB before its first measured run; its peak (VmHWM, reset before each run) while it received ${settings.upload.clients} uploads at a time: ${podPeakMib.toFixed(0)} MiB.`,
    ...disturbedNote(
      'upload runs',
      input.uploads.runs.map((run) => ({ label: `${run.kind} round ${run.round + 1}`, cpu: run.cpu })),
    ),
    input.thumbnails.workerLog.length === 0 ? 'The worker logged no warning or error.' : `The worker logged ${input.thumbnails.workerLog.slice(0, 5).join('; ')}.`,
    input.uploads.podLog.length === 0 ? 'The upload pod logged no warning or error.' : `The upload pod logged ${input.uploads.podLog.slice(0, 5).join('; ')}.`,
    `Postgres: ${input.services.sources.postgres}, Redis: ${input.services.sources.redis}, S3: testkit's s3rver in a child process. The worker or bare sharp, the S3 server, Postgres, Redis and the bench process share this machine's cores; read each ratio within one run.`,
  ];

  return {
    parameters: {
      WORKER_CONCURRENCY: settings.worker.concurrency,
      SHARP_THREADS: settings.worker.sharpThreads,
      THUMBNAIL_MAX_PIXELS: settings.worker.maxInputPixels,
      'worker malloc (MEDIA_WORKER_MALLOC)': settings.worker.malloc.description,
      'images per batch': sizes.map((size) => `${size.name}: ${size.count}`).join(', '),
      rounds: settings.rounds,
      'warm-up jobs per size': settings.warmupJobsPerSize,
      'upload size (MiB)': settings.upload.bytes / 1024 / 1024,
      'upload clients': settings.upload.clients,
      'uploads per run': settings.upload.count,
      'worker CPU profile (MEDIA_CPU_PROFILE=1)': settings.cpuProfile ? 'on: --cpu-prof' : 'off',
    },
    tables: [thumbnailGoal, batchTable, thumbnailCpu, memory, ...profileTable, uploadGoal, uploadRuns, uploadCpu],
    notes,
    data: {
      settings,
      sizes,
      thumbnails: figures.map((figure) => ({
        size: figure.size,
        ratio: figure.ratio,
        bare: { perSecond: figure.bare.perSecond, meanMs: figure.bare.meanMs, cpu: figure.bare.cpu },
        worker: { perSecond: figure.worker.perSecond, meanMs: figure.worker.meanMs, failed: figure.worker.failed, cpu: figure.worker.cpu },
      })),
      batches,
      uploads: { ratio: uploadRatio, kinds: uploads.map(({ kind, mibPerSecond, cpu }) => ({ kind, mibPerSecond, cpu })), runs: input.uploads.runs },
      logs: { worker: input.thumbnails.workerLog, pod: input.uploads.podLog },
      ...(input.thumbnails.profile ? { workerProfile: input.thumbnails.profile } : {}),
    },
  };
}

/** Names the windows where something outside the benchmark took more than a quarter of a core (another test run: rerun). */
function disturbedNote(what: string, windows: ReadonlyArray<{ label: string; cpu: CpuReport }>): string[] {
  const disturbed = windows.filter((window) => window.cpu.otherPercentOfCore > DISTURBED_PERCENT_OF_CORE);
  if (disturbed.length === 0) return [`Nothing outside the benchmark used more than ${DISTURBED_PERCENT_OF_CORE}% of a core during the ${what}.`];
  return [
    `**Other work on the machine** during ${disturbed.length} of ${windows.length} ${what}: ` +
      `${disturbed.map((window) => `${window.label} ${window.cpu.otherPercentOfCore.toFixed(0)}%`).join(', ')} of a core went to processes outside the benchmark; those rows had fewer cores and their figures are low (the batch-by-batch table shows which).`,
  ];
}
