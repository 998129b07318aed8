import { startCluster, type Cluster, type Pod } from '@parley/testkit';
import type { BackingServices } from './backing-services.ts';
import { podAllocator, type Allocator } from './malloc.ts';
import type { PodLogTally } from './pod-log-tally.ts';
import { processTarget, type CpuTarget } from './process-cpu.ts';

/** Every limiter the load touches, raised so far that none ever answers `rate_limited`. */
export const raisedRateLimits: Record<string, string> = {
  RATE_LIMIT_CHAT_SEND: '100000000/1m',
  RATE_LIMIT_CHAT_FETCH: '100000000/1m',
  RATE_LIMIT_SERVER_JOIN: '100000000/1m',
  RATE_LIMIT_COMMUNITY_WRITE: '100000000/1m',
  RATE_LIMIT_AUTH: '100000000/1m',
  RATE_LIMIT_ACCOUNT_SYNC: '100000000/1m',
  // Per-pod guards: every load client connects from 127.0.0.1, and an open loop keeps many sends in flight.
  RATE_LIMIT_HANDSHAKE: '100000000/1m',
  MAX_UNAUTHENTICATED_PER_IP: '1000000',
  MAX_UNAUTHENTICATED_CONNECTIONS: '10000000',
  RATE_LIMIT_SOCKET_EVENTS: '100000000/1m',
  SOCKET_MAX_IN_FLIGHT: '1000',
};

/**
 * `pods` real signaling processes on the scenario's Postgres and Redis, with
 * the rate limits raised, on the allocator of `BENCH_POD_MALLOC` (jemalloc,
 * as in the image, by default) unless `allocator` says otherwise. The log
 * level stays at testkit's `info`: readiness is detected from the info line
 * "listening", and nothing on the chat, join or connect paths logs at info.
 */
export function startParley(
  services: BackingServices,
  pods: number,
  options: { env?: Record<string, string>; tally?: PodLogTally; nodeFlags?: readonly string[]; allocator?: Allocator } = {},
): Promise<Cluster> {
  return startCluster({
    pods,
    databaseUrl: services.databaseUrl,
    redisUrl: services.redisUrl,
    redisKeyPrefix: services.redisKeyPrefix,
    env: { ...(options.allocator ?? podAllocator).env, ...raisedRateLimits, ...options.env },
    ...(options.tally ? { onLine: options.tally.onLine } : {}),
    nodeFlags: [...(options.nodeFlags ?? []), ...profilingFlags()],
  });
}

/**
 * `BENCH_POD_CPU_PROFILE=<directory>`: every pod runs with `--cpu-prof`, and
 * leaves a `.cpuprofile` there when it stops (open it in Chrome DevTools, or
 * summarise it with `bench/lib/cpu-profile.ts`). Off by default: profiling costs CPU.
 */
function profilingFlags(): string[] {
  const directory = process.env.BENCH_POD_CPU_PROFILE;
  return directory ? ['--cpu-prof', `--cpu-prof-dir=${directory}`] : [];
}

export function podPid(pod: Pod): number {
  const pid = pod.process?.pid;
  if (pid === undefined) throw new Error(`${pod.nodeId} has no pid`);
  return pid;
}

/** One CPU target per pod. */
export function podTargets(cluster: Cluster): CpuTarget[] {
  return cluster.pods.map((pod) => processTarget(`parley ${pod.nodeId}`, 'pod', podPid(pod)));
}
