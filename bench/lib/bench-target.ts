import type { BackingServices } from './backing-services.ts';
import { podTargets, startParley } from './parley-cluster.ts';
import { PodLogTally } from './pod-log-tally.ts';
import { CpuMeter, selfTarget, type CpuTarget } from './process-cpu.ts';
import { RelayCluster } from './relay-cluster.ts';
import type { SeededUser } from './seeder.ts';
import { backingServiceTargets } from './service-processes.ts';
import { SocketPool } from './socket-pool.ts';

/** Servers a benchmark's clients connect to: Parley pods or bare relays. */
export interface BenchTarget {
  kind: 'parley' | 'relay';
  label: string;
  urls: readonly string[];
  cpuTargets: CpuTarget[];
  /** Warnings and errors the servers logged (Parley pods only). */
  logs?: PodLogTally;
  stop(): Promise<void>;
}

/** `pods` Parley pods (with `env` on top of the raised limits), and the handshake `auth` of seeded user `index`. */
export async function startParleyTarget(
  services: BackingServices,
  pods: number,
  options: { users: readonly SeededUser[]; clientPrefix: string; env?: Record<string, string> },
): Promise<BenchTarget & { userAuth(index: number): Record<string, string> }> {
  const logs = new PodLogTally();
  const cluster = await startParley(services, pods, { tally: logs, ...(options.env ? { env: options.env } : {}) });
  return {
    kind: 'parley',
    logs,
    label: `Parley, ${pods} pod${pods === 1 ? '' : 's'}`,
    urls: cluster.pods.map((pod) => pod.url),
    cpuTargets: podTargets(cluster),
    userAuth: (index) => {
      const user = options.users[index];
      if (!user) throw new Error(`no seeded user for client ${index}`);
      return { token: user.token, clientInstanceId: `${options.clientPrefix}-${index}` };
    },
    stop: () => cluster.stop(),
  };
}

/** `count` bare relays (`bench/baseline/bare-relay.ts`); a client names its room in the handshake. */
export async function startRelayTarget(services: BackingServices, count: number): Promise<BenchTarget> {
  const relays = await RelayCluster.start(services, count);
  return {
    kind: 'relay',
    label: `bare relay, ${count} process${count === 1 ? '' : 'es'}`,
    urls: relays.urls,
    cpuTargets: relays.cpuTargets(),
    stop: () => relays.stop(),
  };
}

/** Clients connected to a target, and a CPU meter over everything involved. */
export interface TargetSession<T extends BenchTarget> {
  target: T;
  pool: SocketPool;
  meter: CpuMeter;
  /** Closes the clients, then stops the target's servers. */
  close(): Promise<void>;
}

/**
 * Starts a target with `start` and connects `count` clients spread
 * round-robin over its servers, client `index` presenting `authOf(target, index)`.
 * Stops the servers when connecting fails.
 */
export async function connectToTarget<T extends BenchTarget>(options: {
  start: () => Promise<T>;
  authOf: (target: T, index: number) => Record<string, string>;
  services: BackingServices;
  count: number;
  connectConcurrency: number;
  signal: AbortSignal;
  log: (line: string) => void;
}): Promise<TargetSession<T>> {
  const target = await options.start();
  try {
    options.log(`${target.label}: connecting ${options.count} clients`);
    const pool = await SocketPool.connect(
      Array.from({ length: options.count }, (_, index) => ({
        url: target.urls[index % target.urls.length]!,
        auth: options.authOf(target, index),
      })),
      { concurrency: options.connectConcurrency, signal: options.signal },
    );
    if (pool.report.connected < options.count) {
      await pool.close();
      throw new Error(`${target.label}: only ${pool.report.connected} of ${options.count} clients connected: ${JSON.stringify(pool.report.failures)}`);
    }
    const meter = new CpuMeter([...target.cpuTargets, ...backingServiceTargets(options.services), selfTarget()]);
    return {
      target,
      pool,
      meter,
      close: async () => {
        await pool.close();
        await target.stop();
      },
    };
  } catch (error) {
    await target.stop();
    throw error;
  }
}
