import type { BackingServices } from './backing-services.ts';
import { parleyWire, relayWire, type ChatClient, type ChatWire } from './chat-wire.ts';
import { LoadRecorder } from './load-recorder.ts';
import { podTargets, startParley } from './parley-cluster.ts';
import { PodLogTally } from './pod-log-tally.ts';
import { CpuMeter, selfTarget, type CpuTarget } from './process-cpu.ts';
import { RelayCluster } from './relay-cluster.ts';
import type { SeededUser } from './seeder.ts';
import { backingServiceTargets } from './service-processes.ts';
import { SocketPool } from './socket-pool.ts';

/** Servers that chat load can be pointed at: Parley pods or bare relays. */
export interface ChatTarget {
  kind: 'parley' | 'relay';
  label: string;
  wire: ChatWire;
  urls: readonly string[];
  cpuTargets: CpuTarget[];
  /** Handshake `auth` of client `index`, which talks in `room`. */
  auth(index: number, room: string): Record<string, string>;
  /** Warnings and errors the servers logged (Parley pods only). */
  logs?: PodLogTally;
  stop(): Promise<void>;
}

/** `pods` Parley pods; client i is `users[i]`, presenting its session token. */
export async function parleyTarget(services: BackingServices, pods: number, users: readonly SeededUser[]): Promise<ChatTarget> {
  const logs = new PodLogTally();
  const cluster = await startParley(services, pods, { tally: logs });
  return {
    kind: 'parley',
    logs,
    label: `Parley, ${pods} pod${pods === 1 ? '' : 's'}`,
    wire: parleyWire,
    urls: cluster.pods.map((pod) => pod.url),
    cpuTargets: podTargets(cluster),
    auth: (index) => {
      const user = users[index];
      if (!user) throw new Error(`no seeded user for client ${index}`);
      return { token: user.token, clientInstanceId: `bench-${index}` };
    },
    stop: () => cluster.stop(),
  };
}

/** `count` bare relays (`bench/baseline/bare-relay.ts`); a client names its room in the handshake. */
export async function relayTarget(services: BackingServices, count: number): Promise<ChatTarget> {
  const relays = await RelayCluster.start(services, count);
  return {
    kind: 'relay',
    label: `bare relay, ${count} process${count === 1 ? '' : 'es'}`,
    wire: relayWire,
    urls: relays.urls,
    cpuTargets: relays.cpuTargets(),
    auth: (_index, room) => ({ room }),
    stop: () => relays.stop(),
  };
}

/** Connected chat clients on a target, every one of them recorded, and a CPU meter over everything involved. */
export interface ChatSession {
  target: ChatTarget;
  pool: SocketPool;
  clients: ChatClient[];
  recorder: LoadRecorder;
  meter: CpuMeter;
  /** Closes the clients, then stops the target's servers. */
  close(): Promise<void>;
}

/**
 * Starts a target with `start`, connects `count` clients spread round-robin
 * over its servers (client i in `roomOf(i)`, heard by `peersOf(i)` others),
 * and records every message they receive. Stops the servers when connecting fails.
 */
export async function openChatSession(options: {
  start: () => Promise<ChatTarget>;
  services: BackingServices;
  count: number;
  roomOf: (index: number) => string;
  peersOf: (index: number) => number;
  connectConcurrency: number;
  signal: AbortSignal;
  log: (line: string) => void;
}): Promise<ChatSession> {
  const target = await options.start();
  try {
    options.log(`${target.label}: connecting ${options.count} clients`);
    const pool = await SocketPool.connect(
      Array.from({ length: options.count }, (_, index) => ({
        url: target.urls[index % target.urls.length]!,
        auth: target.auth(index, options.roomOf(index)),
      })),
      { concurrency: options.connectConcurrency, signal: options.signal },
    );
    if (pool.report.connected < options.count) {
      await pool.close();
      throw new Error(`${target.label}: only ${pool.report.connected} of ${options.count} clients connected: ${JSON.stringify(pool.report.failures)}`);
    }
    const recorder = new LoadRecorder();
    const clients = pool.connectedSockets.map((socket, index) => {
      recorder.listen(socket, target.wire);
      return { socket, room: options.roomOf(index), peers: options.peersOf(index) };
    });
    const meter = new CpuMeter([...target.cpuTargets, ...backingServiceTargets(options.services), selfTarget()]);
    return {
      target,
      pool,
      clients,
      recorder,
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
