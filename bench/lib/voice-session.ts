import type { Socket } from 'socket.io-client';
import type { BackingServices } from './backing-services.ts';
import { connectToTarget, startParleyTarget, startRelayTarget, type BenchTarget, type TargetSession } from './bench-target.ts';
import type { SeededUser } from './seeder.ts';
import { nowMs } from './stamp.ts';
import type { VoiceUser } from './voice-load.ts';

/** Servers that voice load can be pointed at: Parley pods or bare relays. */
export interface VoiceTarget extends BenchTarget {
  /** Handshake `auth` of client `index`. */
  auth(index: number): Record<string, string>;
}

/** `pods` Parley pods with `env` on top of the raised chat limits; client i is `users[i]`. */
export async function parleyVoiceTarget(
  services: BackingServices,
  pods: number,
  users: readonly SeededUser[],
  env: Record<string, string>,
): Promise<VoiceTarget> {
  const target = await startParleyTarget(services, pods, { users, clientPrefix: 'voice', env });
  return { ...target, auth: (index) => target.userAuth(index) };
}

/** `count` bare relays; client i joins `roomOf(i)` (its community) in the handshake. */
export async function relayVoiceTarget(services: BackingServices, count: number, roomOf: (index: number) => string): Promise<VoiceTarget> {
  return { ...(await startRelayTarget(services, count)), auth: (index) => ({ room: roomOf(index) }) };
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
export interface VoiceSession extends TargetSession<VoiceTarget> {
  users: VoiceUser[];
  events: EventTally;
}

/**
 * Starts a target with `start` and connects `count` clients spread
 * round-robin over its servers, counting the events they hear.
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
  const session = await connectToTarget({ ...options, authOf: (target, index) => target.auth(index) });
  const events = new EventTally();
  const users = session.pool.connectedSockets.map((socket, index) => {
    events.listen(socket);
    return { socket, channelFor: (cycle: number) => options.channelFor(index, cycle) };
  });
  return { ...session, users, events };
}
