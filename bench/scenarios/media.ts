import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { openDatabase, type Database } from '@parley/db';
import { BullMqJobQueue, createLogger } from '@parley/signaling';
import { startWorker, type WorkerProcess } from '@parley/testkit';
import type { BackingServices } from '../lib/backing-services.ts';
import { runClosedLoop } from '../lib/closed-loop.ts';
import { readCpuProfiles, selfTimeByOrigin } from '../lib/cpu-profile.ts';
import { chosenAllocator } from '../lib/malloc.ts';
import { measureWindow } from '../lib/measured-window.ts';
import { mediaReport, UPLOAD_KINDS, type MediaSettings, type ThumbnailProfile, type ThumbnailSize, type UploadKind, type UploadRun } from '../lib/media-report.ts';
import { podPid, startParley } from '../lib/parley-cluster.ts';
import { summarize } from '../lib/percentiles.ts';
import { PodLogTally } from '../lib/pod-log-tally.ts';
import { CpuMeter, processTarget, selfTarget, type CpuTarget } from '../lib/process-cpu.ts';
import { S3ServerProcess } from '../lib/s3-server-process.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { startSeededServices, type SeededUser } from '../lib/seeder.ts';
import { backingServiceTargets } from '../lib/service-processes.ts';
import { photoJpeg } from '../lib/test-photos.ts';
import { prepareFiles, runBareBatch, runWorkerBatch, type SharpSettings, type ThumbnailBatch } from '../lib/thumbnail-batches.ts';
import { directMultipart, directPut, podUpload, type UploadOperation } from '../lib/upload-load.ts';

/** A worker setting as the bench's environment gives it (`WORKER_CONCURRENCY=4 npm run bench -- media`), else the worker's default. */
function configured(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

const settings: MediaSettings = {
  worker: {
    concurrency: configured('WORKER_CONCURRENCY', 2),
    sharpThreads: configured('SHARP_THREADS', 1),
    maxInputPixels: 50_000_000,
    /** jemalloc, as in the Docker image, when libjemalloc2 is installed; `MEDIA_WORKER_MALLOC=glibc` measures glibc's malloc. */
    malloc: chosenAllocator('MEDIA_WORKER_MALLOC'),
  },
  sizes: [
    { name: '1 MP', width: 1152, height: 864, count: 80 },
    { name: '12 MP', width: 4000, height: 3000, count: 40 },
  ],
  /** Distinct photos per size; file i is photo i mod variants. */
  variants: 3,
  /** Each round measures bare sharp and the worker once, in alternating order (A B, then B A): drift on a shared machine falls on both. */
  rounds: 3,
  warmupJobsPerSize: 4,
  jobTimeoutMs: 10 * 60 * 1000,
  upload: { bytes: 10 * 1024 * 1024, clients: 4, count: 40, warmup: 4 },
  targets: { thumbnails: 0.8, uploads: 0.7 },
  /** `MEDIA_CPU_PROFILE=1`: the worker and bare sharp run with `--cpu-prof`; the report says where their main threads' time went. */
  cpuProfile: process.env.MEDIA_CPU_PROFILE === '1',
};

export const media: Scenario = {
  name: 'media',
  description:
    `Thumbnails per second of one worker (WORKER_CONCURRENCY ${settings.worker.concurrency}) for ${settings.sizes.map((size) => size.name).join(' and ')} JPEGs, ` +
    'next to SharpImageProcessor alone in a process of its own at the same concurrency; its peak RSS; and ' +
    `${settings.upload.bytes / 1024 / 1024} MiB multipart uploads through one pod into S3 (s3rver) from ${settings.upload.clients} clients, next to PutObject straight to the same server.`,
  async run(context) {
    context.log('starting Postgres and Redis, migrating a private database');
    const { services, seeder } = await startSeededServices();
    let database: Database | undefined;
    try {
      const [owner] = await seeder.users(1, 'media');
      database = await openDatabase({ kind: 'postgres', url: services.databaseUrl, poolMax: 2 });
      const db = database.db;
      // A fresh S3 server for each part: the thumbnails' objects are gone before the uploads start.
      const thumbnails = await withS3Server(context, (s3Server, s3) => measureThumbnails({ services, s3Server, s3, db }, owner!, context));
      const uploads = await withS3Server(context, (s3Server, s3) => measureUploads({ services, s3Server, s3, db }, owner!, context));
      return mediaReport({ settings, services, thumbnails, uploads });
    } finally {
      await database?.close().catch(() => {});
      await seeder.close().catch(() => {});
      await services.dispose();
    }
  },
};

/** Runs `work` with testkit's S3 server in a child process, then stops it (removing its objects). */
async function withS3Server<T>(context: ScenarioContext, work: (server: S3ServerProcess, client: S3Client) => Promise<T>): Promise<T> {
  context.log('starting an S3 server (s3rver) in a process of its own');
  const server = await S3ServerProcess.start();
  const client = server.client();
  try {
    return await work(server, client);
  } finally {
    client.destroy();
    await server.stop().catch(() => {});
  }
}

interface Stores {
  services: BackingServices;
  s3Server: S3ServerProcess;
  s3: S3Client;
  db: Database['db'];
}

/** Everything measured next to the process under test: the S3 server, Postgres, Redis and the bench process. */
function sharedTargets(stores: Stores): CpuTarget[] {
  return [stores.s3Server.cpuTarget(), ...backingServiceTargets(stores.services), selfTarget()];
}

async function measureThumbnails(
  stores: Stores,
  owner: SeededUser,
  context: ScenarioContext,
): Promise<{ batches: ThumbnailBatch[]; sizes: ThumbnailSize[]; workerLog: string[]; profile?: ThumbnailProfile[] }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'parley-bench-media-'));
  const profileDirectory = (role: 'worker' | 'bare') => path.join(directory, 'cpu-profile', role);
  let worker: WorkerProcess | undefined;
  let queue: BullMqJobQueue | undefined;
  const logs = new PodLogTally();
  try {
    const sharpSettings: SharpSettings = { concurrency: settings.worker.concurrency, threads: settings.worker.sharpThreads, maxInputPixels: settings.worker.maxInputPixels };
    const sizes: ThumbnailSize[] = [];
    const staged = new Map<string, { warmup: string[]; rounds: string[][]; inputs: string[] }>();
    for (const size of settings.sizes) {
      context.log(`${size.name}: making ${settings.variants} photo-like JPEGs of ${size.width} × ${size.height}, storing ${settings.rounds} × ${size.count} originals`);
      const images = await Promise.all(Array.from({ length: settings.variants }, (_, variant) => photoJpeg(size.width, size.height, variant)));
      const inputs = await Promise.all(
        images.map(async (image, variant) => {
          const file = path.join(directory, `${size.width}x${size.height}-${variant}.jpg`);
          await writeFile(file, image);
          return file;
        }),
      );
      sizes.push({ ...size, jpegBytes: images.map((image) => image.length) });
      const stage = (count: number, name: string) => prepareFiles({ db: stores.db, s3: stores.s3, bucket: stores.s3Server.bucket, ownerId: owner.id, images, count, name });
      const warmup = await stage(settings.warmupJobsPerSize, `warmup-${size.width}`);
      const rounds: string[][] = [];
      for (let round = 0; round < settings.rounds; round += 1) rounds.push(await stage(size.count, `${size.width}-r${round}`));
      staged.set(size.name, { warmup, rounds, inputs });
    }

    context.log(`starting a worker (WORKER_CONCURRENCY ${settings.worker.concurrency}, SHARP_THREADS ${settings.worker.sharpThreads})`);
    worker = await startWorker({
      databaseUrl: stores.services.databaseUrl,
      redisUrl: stores.services.redisUrl,
      redisKeyPrefix: stores.services.redisKeyPrefix,
      nodeId: 'bench-worker',
      env: {
        ...stores.s3Server.env(),
        WORKER_CONCURRENCY: String(settings.worker.concurrency),
        SHARP_THREADS: String(settings.worker.sharpThreads),
        THUMBNAIL_MAX_PIXELS: String(settings.worker.maxInputPixels),
        ...settings.worker.malloc.env,
        ...(settings.cpuProfile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDirectory('worker')}` } : {}),
      },
      onLine: (line) => logs.onLine(0, line),
    });
    queue = new BullMqJobQueue({
      url: stores.services.redisUrl,
      keyPrefix: stores.services.redisKeyPrefix,
      nodeId: 'bench',
      timeoutMs: 10_000,
      logger: createLogger({ level: 'silent', format: 'json', nodeId: 'bench' }),
    });
    const workerPid = worker.process?.pid;
    if (workerPid === undefined) throw new Error('the worker has no pid');
    const meter = new CpuMeter([processTarget('worker', 'worker', workerPid), ...sharedTargets(stores)]);
    const workerBatch = (size: string, round: number, fileIds: readonly string[]) =>
      runWorkerBatch({ size, round, worker: worker!, queue: queue!, db: stores.db, fileIds, meter, signal: context.signal, timeoutMs: settings.jobTimeoutMs });

    const batches: ThumbnailBatch[] = [];
    for (const size of settings.sizes) {
      const { warmup, rounds, inputs } = staged.get(size.name)!;
      context.log(`${size.name}: ${warmup.length} warm-up jobs on the worker`);
      await workerBatch(size.name, -1, warmup);
      for (let round = 0; round < settings.rounds; round += 1) {
        const bare = async () => {
          context.log(`${size.name}, round ${round + 1}: bare sharp, ${size.count} images`);
          const batch = await runBareBatch({
            size: size.name,
            round,
            inputs,
            count: size.count,
            settings: sharpSettings,
            others: sharedTargets(stores),
            signal: context.signal,
            ...(settings.cpuProfile ? { cpuProfileDirectory: profileDirectory('bare') } : {}),
          });
          context.log(`  ${batch.perSecond.toFixed(2)} images/s`);
          batches.push(batch);
        };
        const onWorker = async () => {
          context.log(`${size.name}, round ${round + 1}: worker, ${size.count} jobs`);
          const batch = await workerBatch(size.name, round, rounds[round]!);
          context.log(`  ${batch.perSecond.toFixed(2)} files/s`);
          batches.push(batch);
        };
        for (const step of round % 2 === 0 ? [bare, onWorker] : [onWorker, bare]) await step();
      }
    }
    if (!settings.cpuProfile) return { batches, sizes, workerLog: logs.summary() };
    // The profile is written when the worker exits.
    await queue.close();
    await worker.stop();
    const profile = await profileBySize(batches, { worker: profileDirectory('worker'), bare: profileDirectory('bare') });
    return { batches, sizes, workerLog: logs.summary(), profile };
  } finally {
    await queue?.close().catch(() => {});
    await worker?.stop().catch(() => {});
    await rm(directory, { recursive: true, force: true });
  }
}

/** Each size's batches in the profiles of the worker and of the bare-sharp processes: main-thread self time by origin. */
async function profileBySize(batches: readonly ThumbnailBatch[], directories: { worker: string; bare: string }): Promise<ThumbnailProfile[]> {
  const profiles = { worker: await readCpuProfiles(directories.worker), bare: await readCpuProfiles(directories.bare) };
  return settings.sizes.map((size) => {
    const side = (kind: ThumbnailBatch['kind'], from: typeof profiles.worker) => {
      const measured = batches.filter((batch) => batch.kind === kind && batch.size === size.name);
      const origins = selfTimeByOrigin(from, measured.flatMap((batch) => (batch.window ? [batch.window] : [])));
      return { images: measured.reduce((sum, batch) => sum + batch.images, 0), origins: [...origins].map(([origin, ms]) => ({ origin, ms })) };
    };
    return { size: size.name, bare: side('bare sharp', profiles.bare), worker: side('worker', profiles.worker) };
  });
}

async function measureUploads(stores: Stores, owner: SeededUser, context: ScenarioContext): Promise<{ runs: UploadRun[]; podLog: string[] }> {
  const { bytes, clients, count, warmup } = settings.upload;
  const logs = new PodLogTally();
  context.log('starting one pod with S3 storage');
  const cluster = await startParley(stores.services, 1, {
    env: { ...stores.s3Server.env(), UPLOAD_QUOTA_BYTES: String(Number.MAX_SAFE_INTEGER), RATE_LIMIT_UPLOAD: '100000000/1m' },
    tally: logs,
  });
  const body = randomBytes(bytes);
  const pod = podUpload({ podUrl: cluster.url(0), token: owner.token, body, connections: clients });
  try {
    const pid = podPid(cluster.pod(0));
    const meter = new CpuMeter([processTarget('parley pod-1', 'pod', pid), ...sharedTargets(stores)]);
    const operations = (run: string): Record<UploadKind, UploadOperation> => ({
      'direct PutObject': directPut({ s3: stores.s3, bucket: stores.s3Server.bucket, body, run }),
      'direct multipart (the pod’s S3 calls)': directMultipart({ s3: stores.s3, bucket: stores.s3Server.bucket, body, run }),
      'through the pod': pod.upload,
    });
    const load = (operation: UploadOperation, total: number) => runClosedLoop({ workers: clients, total, operation, signal: context.signal });

    context.log(`warm-up: ${warmup} uploads of each kind`);
    for (const kind of UPLOAD_KINDS) {
      const warm = await load(operations('warmup')[kind], warmup);
      if (Object.keys(warm.errors).length > 0) throw new Error(`${kind}: warm-up uploads failed: ${JSON.stringify(warm.errors)}`);
    }
    await stores.s3Server.empty(stores.s3);

    const runs: UploadRun[] = [];
    for (let round = 0; round < settings.rounds; round += 1) {
      for (const kind of round % 2 === 0 ? UPLOAD_KINDS : [...UPLOAD_KINDS].reverse()) {
        context.log(`round ${round + 1}: ${count} uploads ${kind}, ${clients} at once`);
        const measured = await measureWindow({ meter, pid, work: () => load(operations(`r${round}`)[kind], count) });
        const loop = measured.result;
        runs.push({
          kind,
          round,
          uploads: loop.latenciesMs.length,
          errors: loop.errors,
          wallMs: loop.durationMs,
          mibPerSecond: (loop.latenciesMs.length * bytes) / 1024 / 1024 / (loop.durationMs / 1000),
          latencyMs: summarize(loop.latenciesMs),
          cpu: measured.cpu,
          podMemory: measured.memory,
        });
        context.log(`  ${runs.at(-1)!.mibPerSecond.toFixed(1)} MiB/s`);
        await stores.s3Server.empty(stores.s3);
      }
    }
    return { runs, podLog: logs.summary() };
  } finally {
    pod.close();
    await cluster.stop();
  }
}
