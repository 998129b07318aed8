/**
 * `@parley/signaling`: what tools outside the service (scripts, benchmarks)
 * may use. A pod itself starts from `main.ts`.
 */

// Running a node
export { ConfigError, loadConfig, settingNames, type Config } from './config.ts';
export { createLogger, type Logger } from './logger.ts';
export { startNode, type RunningNode } from './node.ts';

// Operator commands (`npm run admin`)
export { parseAdminArgs, usage as adminUsage } from './admin/admin-cli.ts';
export { openAdminContext, type AdminContext } from './admin/admin-context.ts';

// Seeding a database through the real repositories (benchmarks)
export { hashSessionToken, newSessionToken } from './domain/accounts/session-token.ts';
export { DEFAULT_TEXT_CHANNEL } from './domain/communities/community.service.ts';
export { admitMember } from './domain/communities/membership/admission.ts';
export { Store } from './domain/store.ts';

// Running the job worker (`services/worker`): its adapters and the handlers it registers
export { BullMqJobQueue, type BullMqJobQueueOptions, type QueueDepth } from './adapters/bullmq/job-queue.ts';
export { BullMqJobRunner, type BullMqJobRunnerOptions, type JobRunObserver } from './adapters/bullmq/job-runner.ts';
export { JOBS_QUEUE } from './adapters/bullmq/connection.ts';
export { connectDatabase } from './adapters/database.ts';
export { FsBlobStore } from './adapters/fs/blob-store.ts';
export { connectRedis, type RedisConnections } from './adapters/redis/connections.ts';
export { S3BlobStore } from './adapters/s3/blob-store.ts';
export { SharpImageProcessor } from './adapters/sharp/image-processor.ts';
export { emitterRealtime } from './adapters/socket-io/emitter-realtime.ts';
export { systemClock } from './clock.ts';
export type { JobHandlers } from './domain/media/job-queue.ts';
export { mediaJobHandlers, type MediaJobDeps } from './domain/media/media.jobs.ts';
export { objectKeys } from './domain/media/object-keys.ts';
export { Readiness } from './lifecycle/readiness.ts';
export { ShutdownRegistry } from './lifecycle/shutdown.ts';
export { throttledWarning } from './logger.ts';
