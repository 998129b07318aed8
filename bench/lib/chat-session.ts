import type { BackingServices } from './backing-services.ts';
import { connectToTarget, startParleyTarget, startRelayTarget, type BenchTarget, type TargetSession } from './bench-target.ts';
import { parleyWire, relayWire, type ChatClient, type ChatWire } from './chat-wire.ts';
import { LoadRecorder } from './load-recorder.ts';
import type { SeededUser } from './seeder.ts';

/** Servers that chat load can be pointed at: Parley pods or bare relays, and how their clients speak. */
export interface ChatTarget extends BenchTarget {
  wire: ChatWire;
  /** Handshake `auth` of client `index`, which talks in `room`. */
  auth(index: number, room: string): Record<string, string>;
}

/** `pods` Parley pods; client i is `users[i]`, presenting its session token. */
export async function parleyTarget(services: BackingServices, pods: number, users: readonly SeededUser[]): Promise<ChatTarget> {
  const target = await startParleyTarget(services, pods, { users, clientPrefix: 'bench' });
  return { ...target, wire: parleyWire, auth: (index) => target.userAuth(index) };
}

/** `count` bare relays (`bench/baseline/bare-relay.ts`); a client names its room in the handshake. */
export async function relayTarget(services: BackingServices, count: number): Promise<ChatTarget> {
  return { ...(await startRelayTarget(services, count)), wire: relayWire, auth: (_index, room) => ({ room }) };
}

/** Connected chat clients on a target, every one of them recorded, and a CPU meter over everything involved. */
export interface ChatSession extends TargetSession<ChatTarget> {
  clients: ChatClient[];
  recorder: LoadRecorder;
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
  const session = await connectToTarget({ ...options, authOf: (target, index) => target.auth(index, options.roomOf(index)) });
  const recorder = new LoadRecorder();
  const clients = session.pool.connectedSockets.map((socket, index) => {
    recorder.listen(socket, session.target.wire);
    return { socket, room: options.roomOf(index), peers: options.peersOf(index) };
  });
  return { ...session, clients, recorder };
}
