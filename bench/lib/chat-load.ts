import type { ChatClient, ChatWire } from './chat-wire.ts';
import type { LoadRecorder } from './load-recorder.ts';
import { nowMs, stampedText } from './stamp.ts';

export interface OpenLoopOptions {
  /** Senders, taking turns: each sends every `clients.length / rate` seconds. */
  clients: readonly ChatClient[];
  wire: ChatWire;
  /** Messages per second, all clients together. */
  rate: number;
  durationMs: number;
  messageBytes: number;
  recorder: LoadRecorder;
  signal?: AbortSignal;
}

/** How late the generator issued its sends: a late generator adds its lateness to every latency. */
export interface ScheduleLag {
  ticks: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Open loop: message i is due at start + i / rate, whatever happened to the
 * earlier ones, and carries its due time, so a late generator or a slow server
 * shows as latency instead of as a lower rate. Sends do not wait for their
 * acknowledgements. A timer wakes every 1-2 ms and sends what has fallen due.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<ScheduleLag> {
  const { clients, wire, rate, recorder } = options;
  const intervalMs = 1000 / rate;
  const total = Math.floor((options.durationMs / 1000) * rate);
  const start = nowMs();
  const lags: number[] = [];
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = nowMs();
      if (next < total && start + next * intervalMs <= now) lags.push(now - (start + next * intervalMs));
      while (next < total && start + next * intervalMs <= now) {
        const sentAt = start + next * intervalMs;
        const client = clients[next % clients.length]!;
        recorder.sent(sentAt, client.peers);
        wire.send(client.socket, client.room, stampedText(sentAt, options.messageBytes), (error) => recorder.acked(sentAt, error));
        next += 1;
      }
      if (next >= total || options.signal?.aborted) return resolve();
      setTimeout(tick, Math.min(2, Math.max(0, start + next * intervalMs - nowMs())));
    };
    tick();
  });
  lags.sort((a, b) => a - b);
  return {
    ticks: lags.length,
    p99Ms: lags[Math.max(0, Math.ceil(lags.length * 0.99) - 1)] ?? Number.NaN,
    maxMs: lags.at(-1) ?? Number.NaN,
  };
}

export interface ClosedLoopChatOptions {
  senders: readonly ChatClient[];
  wire: ChatWire;
  durationMs: number;
  messageBytes: number;
  recorder: LoadRecorder;
  /** An acknowledgement later than this counts as `ack_timeout` and the sender moves on. */
  ackTimeoutMs: number;
  /** Messages each sender keeps awaiting their acknowledgement (default 1). */
  inFlightPerSender?: number;
  signal?: AbortSignal;
}

/**
 * Closed loop: each sender keeps `inFlightPerSender` messages in flight,
 * sending the next as soon as one is acknowledged.
 */
export async function runClosedChatLoop(options: ClosedLoopChatOptions): Promise<void> {
  const { wire, recorder } = options;
  const end = nowMs() + options.durationMs;
  const sender = async (client: ChatClient) => {
    while (nowMs() < end && !options.signal?.aborted) {
      const sentAt = nowMs();
      recorder.sent(sentAt, client.peers);
      const error = await new Promise<string | undefined>((resolve) =>
        wire.send(client.socket, client.room, stampedText(sentAt, options.messageBytes), resolve, options.ackTimeoutMs),
      );
      recorder.acked(sentAt, error);
    }
  };
  const inFlight = options.inFlightPerSender ?? 1;
  await Promise.all(options.senders.flatMap((client) => Array.from({ length: inFlight }, () => sender(client))));
}
