import {
  BullMqJobQueue,
  BullMqJobRunner,
  ConfigError,
  connectDatabase,
  connectRedis,
  createLogger,
  emitterRealtime,
  FsBlobStore,
  JOBS_QUEUE,
  loadConfig,
  Readiness,
  S3BlobStore,
  SharpImageProcessor,
  ShutdownRegistry,
  Store,
  systemClock,
  throttledWarning,
  type Config,
} from '@parley/signaling';
import { startHealthServer } from './http.ts';
import { buildHandlers } from './jobs.ts';
import { createWorkerMetrics } from './metrics.ts';

// The composition root of a job worker: config, adapters, handlers, the
// runner taking jobs from Redis, its HTTP port, signals.

/** Part of SHUTDOWN_GRACE_MS running jobs may take to finish; the rest is for closing connections. */
const JOBS_SHARE_OF_GRACE = 0.8;

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
}
const redisSettings = config.redis;
if (!redisSettings || config.database.kind !== 'postgres') {
  process.stderr.write(
    'The worker needs REDIS_URL and DATABASE_URL: it runs a cluster’s jobs, queued in Redis, against its Postgres. ' +
      '(An embedded node, started without them, runs its jobs itself.)\n',
  );
  process.exit(1);
}

const logger = createLogger({ level: config.log.level, format: config.log.format, nodeId: config.nodeId });

process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'uncaught exception');
  process.exit(1);
});

const shutdown = new ShutdownRegistry(logger);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    setTimeout(() => {
      logger.error({ graceMs: config.shutdownGraceMs }, 'shutdown exceeded the grace period; exiting');
      process.exit(1);
    }, config.shutdownGraceMs).unref();
    // While starting, the steps added so far close what exists.
    void shutdown.run(signal).then(() => process.exit(0));
  });
}

try {
  const readiness = new Readiness();
  shutdown.add('stop reporting ready', () => readiness.startDraining());

  // Adapters
  const database = await connectDatabase(config, logger);
  readiness.addCheck('database', () => database.ping());
  const redis = connectRedis({ ...redisSettings, nodeId: config.nodeId }, logger);
  readiness.addCheck('redis', () => redis.ping());
  const queue = new BullMqJobQueue({
    url: redisSettings.url,
    keyPrefix: redisSettings.keyPrefix,
    nodeId: config.nodeId,
    timeoutMs: redisSettings.commandTimeoutMs,
    logger,
  });
  readiness.addCheck('job_queue', () => queue.ping());
  const depthUnavailable = throttledWarning(logger, 'queue depth unavailable for /metrics');
  const metrics = createWorkerMetrics({
    queue: JOBS_QUEUE,
    queueDepth: () => queue.queueDepth(),
    onDepthError: (error) => depthUnavailable({ err: error }),
  });

  // Handlers
  const handlers = buildHandlers({
    store: new Store(database.db),
    blobs: config.media.s3 ? new S3BlobStore({ settings: config.media.s3 }) : new FsBlobStore({ directory: config.media.filesDir }),
    images: new SharpImageProcessor({ maxInputPixels: config.thumbnails.maxInputPixels, threads: config.thumbnails.sharpThreads }),
    realtime: emitterRealtime(redis.pub, redis.keyPrefix),
    queue,
    clock: systemClock,
    logger,
    settings: { unattachedTtlMs: config.media.unattachedTtlMs },
  });

  // Transports: the health port first, so that it answers while Redis is awaited
  const server = await startHealthServer({
    host: config.http.host,
    port: config.workerPort,
    nodeId: config.nodeId,
    readiness,
    registry: metrics.registry,
  });
  const runner = await BullMqJobRunner.start({
    url: redisSettings.url,
    keyPrefix: redisSettings.keyPrefix,
    nodeId: config.nodeId,
    handlers,
    concurrency: config.thumbnails.concurrency,
    logger,
    observer: metrics.observer,
  });
  shutdown.add('finish running jobs, take no more', () => runner.close(Math.floor(config.shutdownGraceMs * JOBS_SHARE_OF_GRACE)));
  shutdown.add('close the job queue', () => queue.close());
  shutdown.add('close redis', () => redis.close());
  shutdown.add('close database', () => database.close());
  shutdown.add('close http', () => server.close());

  // Once across the cluster: every worker upserts the same schedule.
  await queue.schedule('sweep-files', {}, config.media.sweepIntervalMs).catch((error: unknown) => {
    logger.error({ err: error }, 'could not schedule the file sweep; the next worker to start will');
  });

  logger.info(
    { port: server.port, url: server.url, queue: JOBS_QUEUE, concurrency: config.thumbnails.concurrency },
    'worker ready',
  );
} catch (error) {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
}
