import type { Socket } from 'socket.io-client';
import type { BackingServices } from './backing-services.ts';
import { podTargets, startParley } from './parley-cluster.ts';
import { PodLogTally } from './pod-log-tally.ts';
import { CpuMeter, selfTarget, type CpuTarget } from './process-cpu.ts';
import { RelayCluster } from './relay-cluster.ts';
import type { SeededUser } from './seeder.ts';
import { backingServiceTargets } from './service-processes.ts';
import { SocketPool } from './socket-pool.ts';
import { nowMs } from './stamp.ts';
import type { VoiceUser } from './voice-load.ts';

/** Servers that voice load can be pointed at: Parley pods or bare relays. */
export interface VoiceTarget {
  kind: 'parley' | 'relay';
  label: string;
  urls: readonly string[];
  cpuTargets: CpuTarget[];
  /** Handshake `auth` of client `index`. */
  auth(index: number): Record<string, string>;
  /** Warnings and errors the servers logged (Parley pods only). */
  logs?: PodLogTally;
  stop(): Promise<void>;
}

/** `pods` Parley pods with `env` on top of the raised chat limits; client i is `users[i]`. */
export async function parleyVoiceTarget(
  services: BackingServices,
  pods: number,
  users: readonly SeededUser[],
  env: Record<string, string>,
): Promise<VoiceTarget> {
  const logs = new PodLogTally();
  const cluster = await startParley(services, pods, { env, tally: logs });
  return {
    kind: 'parley',
    logs,
    label: `Parley, ${pods} pod${pods === 1 ? '' : 's'}`,
    urls: cluster.pods.map((pod) => pod.url),
    cpuTargets: podTargets(cluster),
    auth: (index) => {
      const user = users[index];
      if (!user) throw new Error(`no seeded user for client ${index}`);
      return { token: user.token, clientInstanceId: `voice-${index}` };
    },
    stop: () => cluster.stop(),
  };
}

/** `count` bare relays; client i joins `roomOf(i)` (its community) in the handshake. */
export async function relayVoiceTarget(services: BackingServices, count: number, roomOf: (index: number) => string): Promise<VoiceTarget> {
  const relays = await RelayCluster.start(services, count);
  return {
    kind: 'relay',
    label: `bare relay, ${count} process${count === 1 ? '' : 'es'}`,
    urls: relays.urls,
    cpuTargets: relays.cpuTargets(),
    auth: (index) => ({ room: roomOf(index) }),
    stop: () => relays.stop(),
  };
}

/** Server → client events (acknowledgements excluded) that arrived inside a window, by name. */
export class EventTally {
  #from = Number.POSITIVE_INFINITY;
  #to = Number.NEGATIVE_INFINITY;
  total = 0;
  byEvent: Record<string, number> = {};

  open(from: number, to: number): void {
    this.#from = from;
    this.#to = to;
    this.total = 0;
    this.byEvent = {};
  }

  listen(socket: Socket): void {
    socket.onAny((event: string) => {
      const at = nowMs();
      if (at < this.#from || at >= this.#to) return;
      this.total += 1;
      this.byEvent[event] = (this.byEvent[event] ?? 0) + 1;
    });
  }
}

/** Connected voice clients on a target, the events they hear, and a CPU meter over everything involved. */
export interface VoiceSession {
  target: VoiceTarget;
  pool: SocketPool;
  users: VoiceUser[];
  events: EventTally;
  meter: CpuMeter;
  /** Closes the clients, then stops the target's servers. */
  close(): Promise<void>;
}

/**
 * Starts a target with `start` and connects `count` clients spread
 * round-robin over its servers.
 * Stops the servers when connecting fails.
 */
export async function openVoiceSession(options: {
  start: () => Promise<VoiceTarget>;
  services: BackingServices;
  count: number;
  /** The voice channel client `index` asks for in its cycle number `cycle`. */
  channelFor: (index: number, cycle: number) => string;
  connectConcurrency: number;
  signal: AbortSignal;
  log: (line: string) => void;
}): Promise<VoiceSession> {
  const target = await options.start();
  try {
    options.log(`${target.label}: connecting ${options.count} clients`);
    const pool = await SocketPool.connect(
      Array.from({ length: options.count }, (_, index) => ({ url: target.urls[index % target.urls.length]!, auth: target.auth(index) })),
      { concurrency: options.connectConcurrency, signal: options.signal },
    );
    if (pool.report.connected < options.count) {
      await pool.close();
      throw new Error(`${target.label}: only ${pool.report.connected} of ${options.count} clients connected: ${JSON.stringify(pool.report.failures)}`);
    }
    const events = new EventTally();
    const users = pool.connectedSockets.map((socket, index) => {
      events.listen(socket);
      return { socket, channelFor: (cycle: number) => options.channelFor(index, cycle) };
    });
    const meter = new CpuMeter([...target.cpuTargets, ...backingServiceTargets(options.services), selfTarget()]);
    return {
      target,
      pool,
      users,
      events,
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
