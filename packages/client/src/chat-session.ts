import type { ChannelResume, ChatMessage, ChatSendRequest, ErrorCode } from '@parley/protocol';
import { ParleyError } from './parley-error.ts';
import type { ParleySocket } from './socket-client.ts';

export interface SendRetryOptions {
  /** Tries in all, the first included. Default 8. */
  attempts?: number;
  /** The first retry waits about this long, doubling each time. Default 250 ms. */
  baseDelayMs?: number;
  /** No wait is longer than this. Default 5000 ms. */
  maxDelayMs?: number;
}

/** Failures worth retrying with the same nonce: the message may or may not have been stored. */
const RETRYABLE: ReadonlySet<ErrorCode | 'timeout' | 'disconnected' | 'network_error'> = new Set([
  'timeout',
  'disconnected',
  'network_error',
  'unavailable',
  'rate_limited',
  'internal_error',
]);

type MessageListener = (message: ChatMessage) => void;
type ResyncListener = (conversationId: string) => void;

/**
 * Chat without loss or duplicates over a `ParleySocket` that reconnects:
 *
 * - it keeps the last `seq` of every channel it has seen a message of, and
 *   after every reconnect (to whichever pod) asks the server for what each
 *   channel missed (`chat:resume`);
 * - a message arriving after a gap is held until the gap is filled;
 * - every message reaches the listeners once, in `seq` order per channel,
 *   including one's own sends (from their acknowledgement) and, from a
 *   replay, tombstones of deleted messages (`deleted: true`);
 * - beyond the server's replay bound it calls the resync listeners: fetch
 *   that channel's history afresh (`chat:fetch`), then carry on;
 * - `send` gives each message a nonce and retries it with the same nonce,
 *   with exponential backoff and jitter, so a retry after a lost ack or a
 *   pod crash returns the stored message instead of a second one.
 */
export class ChatSession {
  readonly #socket: ParleySocket;
  readonly #retry: Required<SendRetryOptions>;
  readonly #lastSeq = new Map<string, number>();
  /** Messages that arrived after a gap, by channel, waiting for the gap to be filled. */
  readonly #held = new Map<string, Map<number, ChatMessage>>();
  readonly #messageListeners = new Set<MessageListener>();
  readonly #resyncListeners = new Set<ResyncListener>();
  /** Per channel with held messages: when to stop waiting for the live stream and ask the server. */
  readonly #gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #gapGraceMs: number;
  #resuming: Promise<void> | undefined;
  readonly #detach: Array<() => void> = [];

  /**
   * `socket` should be connected. `gapGraceMs` (default 1000): how long a gap
   * may wait for the live stream to fill it (messages from other pods can
   * arrive after one's own acknowledgement) before the session asks the server.
   */
  constructor(socket: ParleySocket, options: { retry?: SendRetryOptions; gapGraceMs?: number } = {}) {
    this.#socket = socket;
    this.#retry = { attempts: 8, baseDelayMs: 250, maxDelayMs: 5000, ...options.retry };
    this.#gapGraceMs = options.gapGraceMs ?? 1000;
    this.#detach.push(socket.on('chat:new', (message) => this.#receive(message)));
    // Every later connect is a reconnect, to whichever pod: replay what was missed meanwhile.
    const onConnect = () => void this.resume().catch(() => {});
    socket.socket.on('connect', onConnect);
    this.#detach.push(() => socket.socket.off('connect', onConnect));
  }

  /** Calls `listener` with every message once, in seq order per channel. Returns the unsubscribe function. */
  onMessage(listener: MessageListener): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  /** Called when a channel missed more than the server replays: refetch its history. */
  onResync(listener: ResyncListener): () => void {
    this.#resyncListeners.add(listener);
    return () => this.#resyncListeners.delete(listener);
  }

  /** Follows a channel from `lastSeq` (what the app already holds; 0 for nothing), so a reconnect replays what follows. */
  track(conversationId: string, lastSeq = 0): void {
    this.#lastSeq.set(conversationId, Math.max(lastSeq, this.#lastSeq.get(conversationId) ?? 0));
  }

  /** The last seq delivered for a channel; undefined for a channel not followed. */
  lastSeq(conversationId: string): number | undefined {
    return this.#lastSeq.get(conversationId);
  }

  /**
   * Sends a message and resolves with it once stored. Retries with the same
   * nonce on timeouts, disconnections, `unavailable` and `rate_limited`;
   * throws `ParleyError` for anything else, or when the attempts run out.
   */
  async send(input: ChatSendRequest): Promise<ChatMessage> {
    const request = { ...input, nonce: input.nonce ?? crypto.randomUUID() };
    for (let attempt = 1; ; attempt++) {
      try {
        const { message } = await this.#socket.request('chat:send', request);
        this.#receive(message);
        return message;
      } catch (error) {
        if (!(error instanceof ParleyError) || !RETRYABLE.has(error.code) || attempt >= this.#retry.attempts) throw error;
        await sleep(this.#backoff(attempt, error.retryAfterMs));
        await this.#connected();
      }
    }
  }

  /** Asks the server for what every followed channel missed; runs by itself after each reconnect. */
  resume(): Promise<void> {
    this.#resuming ??= this.#resumeOnce().finally(() => (this.#resuming = undefined));
    return this.#resuming;
  }

  /** Stops listening to the socket (it stays open). */
  close(): void {
    for (const detach of this.#detach.splice(0)) detach();
    for (const timer of this.#gapTimers.values()) clearTimeout(timer);
    this.#gapTimers.clear();
  }

  async #resumeOnce(): Promise<void> {
    if (this.#lastSeq.size === 0) return;
    for (let attempt = 1; ; attempt++) {
      try {
        const { channels } = await this.#socket.request('chat:resume', { channels: Object.fromEntries(this.#lastSeq) });
        for (const channel of channels) this.#apply(channel);
        return;
      } catch (error) {
        if (!(error instanceof ParleyError) || !RETRYABLE.has(error.code) || attempt >= this.#retry.attempts) throw error;
        await sleep(this.#backoff(attempt, error.retryAfterMs));
        await this.#connected();
      }
    }
  }

  #apply(channel: ChannelResume): void {
    const { conversationId } = channel;
    if (channel.error) {
      this.#lastSeq.delete(conversationId);
      this.#held.delete(conversationId);
      return;
    }
    if (channel.resyncRequired) {
      this.#lastSeq.set(conversationId, channel.lastSeq);
      this.#held.delete(conversationId);
      clearTimeout(this.#gapTimers.get(conversationId));
      this.#gapTimers.delete(conversationId);
      for (const listener of this.#resyncListeners) listener(conversationId);
      return;
    }
    for (const message of channel.items) this.#receive(message);
  }

  /** Delivers a message in order, once; holds it after a gap and asks for the gap. */
  #receive(message: ChatMessage): void {
    const channel = message.conversationId;
    const last = this.#lastSeq.get(channel);
    if (last === undefined) {
      // The first message seen in this channel starts its sequence.
      this.#lastSeq.set(channel, message.seq - 1);
      return this.#receive(message);
    }
    if (message.seq <= last) return;
    if (message.seq > last + 1) {
      const held = this.#held.get(channel) ?? new Map<number, ChatMessage>();
      held.set(message.seq, message);
      this.#held.set(channel, held);
      if (!this.#gapTimers.has(channel)) {
        const timer = setTimeout(() => {
          this.#gapTimers.delete(channel);
          void this.resume().catch(() => {});
        }, this.#gapGraceMs);
        this.#gapTimers.set(channel, timer);
      }
      return;
    }
    this.#lastSeq.set(channel, message.seq);
    for (const listener of this.#messageListeners) listener(message);
    const held = this.#held.get(channel);
    const next = held?.get(message.seq + 1);
    if (next) {
      held!.delete(next.seq);
      this.#receive(next);
    } else if (held?.size === 0 || !held) {
      clearTimeout(this.#gapTimers.get(channel));
      this.#gapTimers.delete(channel);
    }
  }

  #backoff(attempt: number, retryAfterMs: number | undefined): number {
    const exponential = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    // Full jitter on the upper half, so clients that failed together do not retry together.
    return Math.max(retryAfterMs ?? 0, exponential * (0.5 + Math.random() / 2));
  }

  /** Resolves when the socket is connected (at once if it is). */
  #connected(): Promise<void> {
    if (this.#socket.connected) return Promise.resolve();
    return new Promise((resolve) => this.#socket.socket.once('connect', () => resolve()));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
