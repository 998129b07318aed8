import os from 'node:os';
import { ParleyHttpClient } from '@parley/client';
import { startCluster, type Cluster } from '@parley/testkit';
import argon2 from 'argon2';
import { startBackingServices, type BackingServices } from '../lib/backing-services.ts';
import { runClosedLoop, type ClosedLoopResult } from '../lib/closed-loop.ts';
import { podAllocator } from '../lib/malloc.ts';
import { summarize, type LatencySummary } from '../lib/percentiles.ts';
import { readMemory, resetPeak, RssSampler, type MemoryReading, type SampledPeak } from '../lib/rss-sampler.ts';
import type { Scenario, ScenarioContext, ScenarioResult, Table } from '../lib/scenario.ts';

const settings = {
  users: 200,
  workers: 50,
  /** Per measurement: each argon2 floor and each pod configuration. */
  logins: 600,
  rssSampleMs: 50,
  /** High enough that the auth limiter never answers 429. */
  rateLimitAuth: '1000000/1m',
};

/** The pod's default PASSWORD_HASH_CONCURRENCY (services/signaling/src/config.ts). */
const podDefaultHashConcurrency = Math.max(2, os.availableParallelism());

interface PodRun {
  label: string;
  /** Extra environment for the pod. */
  env: Record<string, string>;
}

/** The pod configurations measured, each on a fresh pod. */
const podRuns: readonly PodRun[] = [
  { label: `pod, default PASSWORD_HASH_CONCURRENCY (${podDefaultHashConcurrency})`, env: {} },
  { label: 'pod, PASSWORD_HASH_CONCURRENCY=1', env: { PASSWORD_HASH_CONCURRENCY: '1' } },
];

/** Parley's parameters (services/signaling/src/adapters/argon2/password-hasher.ts). */
const ARGON2ID = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const PASSWORD = 'correct horse battery staple';

interface Measurement {
  label: string;
  loop: ClosedLoopResult;
  latency: LatencySummary;
  memory: { before: MemoryReading; peak: SampledPeak; after: MemoryReading; peakWasReset: boolean };
}

export const login: Scenario = {
  name: 'login',
  description:
    `${settings.workers} concurrent POST /api/users/login in a closed loop against one signaling pod, ` +
    `next to ${settings.workers} concurrent argon2.verify calls in the bench process (the hashing floor).`,
  async run(context) {
    context.log('starting Postgres and Redis, migrating a private database');
    const services = await startBackingServices();
    try {
      const floor = await measureArgon2(`argon2.verify, ${settings.workers} at once (floor)`, settings.workers, context);
      const boundedFloor = await measureArgon2(
        `argon2.verify, ${podDefaultHashConcurrency} at once (the pod's default bound)`,
        podDefaultHashConcurrency,
        context,
      );
      const { usernames, register } = await registerUsers(services, context);
      const pods: Measurement[] = [];
      for (const run of podRuns) pods.push(await measureLogins(services, usernames, run, context));
      return report(services, { floor, boundedFloor }, pods, register);
    } finally {
      await services.dispose();
    }
  },
};

/** argon2.verify alone, `workers` calls at once, on the bench process's libuv pool. */
async function measureArgon2(label: string, workers: number, context: ScenarioContext): Promise<Measurement> {
  context.log(`${label}: ${settings.logins} verifies`);
  const hash = await argon2.hash(PASSWORD, ARGON2ID);
  return measure(label, process.pid, () =>
    runClosedLoop({
      workers,
      total: settings.logins,
      signal: context.signal,
      operation: async () => {
        if (!(await argon2.verify(hash, PASSWORD))) throw new Error('argon2.verify returned false');
      },
    }),
  );
}

/** Registers the users through a pod of its own, so the measured pods start with no hashing behind them. */
async function registerUsers(services: BackingServices, context: ScenarioContext) {
  context.log(`registering ${settings.users} users (${settings.workers} at once)`);
  const usernames = Array.from({ length: settings.users }, (_, index) => `bench_${index}`);
  const cluster = await startPod(services, {});
  try {
    const url = cluster.url(0);
    const loop = await runClosedLoop({
      workers: settings.workers,
      total: settings.users,
      signal: context.signal,
      operation: (index) => new ParleyHttpClient(url).register({ username: usernames[index]!, password: PASSWORD }),
    });
    const failed = errorCount(loop);
    if (failed > 0) throw new Error(`${failed} registrations failed: ${JSON.stringify(loop.errors)}`);
    return { usernames, register: { loop, latency: summarize(loop.latenciesMs) } };
  } finally {
    await cluster.stop();
  }
}

async function measureLogins(
  services: BackingServices,
  usernames: readonly string[],
  run: PodRun,
  context: ScenarioContext,
): Promise<Measurement> {
  context.log(`${run.label}: ${settings.logins} logins, ${settings.workers} at once`);
  const cluster = await startPod(services, run.env);
  try {
    const url = cluster.url(0);
    const pid = cluster.pod(0).process?.pid;
    if (pid === undefined) throw new Error('the pod has no pid');
    // Failed logins (such as `unavailable` from a full hashing queue) are results: counted, not thrown.
    return await measure(run.label, pid, () =>
      runClosedLoop({
        workers: settings.workers,
        total: settings.logins,
        signal: context.signal,
        operation: (index) =>
          new ParleyHttpClient(url).login({ username: usernames[index % usernames.length]!, password: PASSWORD }),
      }),
    );
  } finally {
    await cluster.stop();
  }
}

/** Runs `load` while sampling the memory of process `pid`. */
async function measure(label: string, pid: number, load: () => Promise<ClosedLoopResult>): Promise<Measurement> {
  const before = readMemory(pid);
  const peakWasReset = resetPeak(pid);
  const sampler = RssSampler.start(pid, settings.rssSampleMs);
  let loop: ClosedLoopResult;
  try {
    loop = await load();
  } catch (error) {
    sampler.stop();
    throw error;
  }
  const peak = sampler.stop();
  return { label, loop, latency: summarize(loop.latenciesMs), memory: { before, peak, after: readMemory(pid), peakWasReset } };
}

function startPod(services: BackingServices, env: Record<string, string>): Promise<Cluster> {
  return startCluster({
    pods: 1,
    databaseUrl: services.databaseUrl,
    redisUrl: services.redisUrl,
    redisKeyPrefix: services.redisKeyPrefix,
    env: { ...podAllocator.env, RATE_LIMIT_AUTH: settings.rateLimitAuth, ...env },
  });
}

function errorCount(loop: ClosedLoopResult): number {
  return Object.values(loop.errors).reduce((sum, count) => sum + count, 0);
}

function report(
  services: BackingServices,
  { floor, boundedFloor }: { floor: Measurement; boundedFloor: Measurement },
  pods: readonly Measurement[],
  register: { loop: ClosedLoopResult; latency: LatencySummary },
): ScenarioResult {
  // The bounded floor's latency is bare hashing time, not queueing: its p50 is not compared.
  const latencyRow = (label: string, loop: ClosedLoopResult, latency: LatencySummary, compare: 'none' | 'rate' | 'both') => [
    label,
    latency.count,
    errorCount(loop),
    latency.p50,
    latency.p90,
    latency.p99,
    latency.max,
    loop.perSecond,
    compare !== 'none' ? `${(loop.perSecond / floor.loop.perSecond).toFixed(2)}×` : '–',
    compare === 'both' ? `${(latency.p50 / floor.latency.p50).toFixed(2)}×` : '–',
  ];
  const latency: Table = {
    title: 'Latency (ms) and throughput',
    columns: ['measurement', 'ok', 'errors', 'p50', 'p90', 'p99', 'max', 'per s', 'per s vs floor', 'p50 vs floor'],
    rows: [
      latencyRow(floor.label, floor.loop, floor.latency, 'none'),
      latencyRow(boundedFloor.label, boundedFloor.loop, boundedFloor.latency, 'rate'),
      ...pods.map((run) => latencyRow(run.label, run.loop, run.latency, 'both')),
      latencyRow(`POST /register, ${settings.users} users (setup pod)`, register.loop, register.latency, 'none'),
    ],
  };
  const mib = (kb: number) => kb / 1024;
  const memory: Table = {
    title: 'Memory of the measured process (MiB)',
    columns: ['process during', 'RSS before', 'max RSS sampled', 'VmHWM during', 'RSS after', 'samples'],
    rows: [floor, ...pods].map(({ label, memory: m }) => [
      label,
      mib(m.before.rssKb),
      mib(m.peak.maxRssKb),
      m.peakWasReset ? mib(m.peak.hwmKb) : `${mib(m.peak.hwmKb).toFixed(1)} (since start)`,
      mib(m.after.rssKb),
      m.peak.samples,
    ]),
  };
  const defaultPod = pods[0];
  const notes = [
    `Closed loop: ${settings.workers} workers each start their next request when the last one answers, so latency is mostly queueing (≈ workers ÷ throughput); "per s" is successful operations per second of wall time.`,
    `Both floors run argon2id (memoryCost ${ARGON2ID.memoryCost}, timeCost ${ARGON2ID.timeCost}, parallelism ${ARGON2ID.parallelism}) in the bench process. The first keeps ${settings.workers} calls in flight on libuv's pool of ${process.env.UV_THREADPOOL_SIZE ?? 4} threads; the second keeps ${podDefaultHashConcurrency} in flight, like the pod's default PASSWORD_HASH_CONCURRENCY (max(2, cores)), so its latency is the bare hashing time.`,
    '"vs floor" divides a row\'s figure by the first floor\'s: per s below 1× and p50 above 1× are what the row costs on top of argon2 called by 50 at once.',
    ...(defaultPod
      ? [`The default pod reaches ${(defaultPod.loop.perSecond / boundedFloor.loop.perSecond).toFixed(2)}× the throughput of argon2 bounded the same way; the rest goes to HTTP, Postgres and session creation.`]
      : []),
    'VmHWM is reset through /proc/<pid>/clear_refs just before the load, so it is the peak during the load, including peaks between the 50 ms samples. The bounded floor is left out of the memory table: it runs in the same process right after the first floor.',
    `Postgres: ${services.sources.postgres}, Redis: ${services.sources.redis}; they, the pod and the load generator share the machine's ${os.availableParallelism()} cores.`,
  ];
  const rounded = (samples: number[]) => samples.map((ms) => Math.round(ms * 100) / 100);
  return {
    parameters: {
      users: settings.users,
      'concurrent workers': settings.workers,
      'operations per measurement': settings.logins,
      'RSS sample interval (ms)': settings.rssSampleMs,
      RATE_LIMIT_AUTH: settings.rateLimitAuth,
    },
    tables: [latency, memory],
    notes,
    data: {
      settings,
      argon2: ARGON2ID,
      register: { ...register.latency, perSecond: register.loop.perSecond, errors: register.loop.errors },
      measurements: [floor, boundedFloor, ...pods].map((run) => ({
        label: run.label,
        latencyMs: run.latency,
        perSecond: run.loop.perSecond,
        durationMs: run.loop.durationMs,
        errors: run.loop.errors,
        memoryKb: run.memory,
        samplesMs: rounded(run.loop.latenciesMs),
      })),
    },
  };
}
