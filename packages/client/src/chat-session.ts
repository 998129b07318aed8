import type { ChannelResume, ChatMessage, ChatSendRequest, ErrorCode } from '@parley/protocol';
import { ParleyError, type ClientErrorCode } from './parley-error.ts';
import type { ParleySocket } from './socket-client.ts';

export interface SendRetryOptions {
  /** Tries in all, the first included. Default 8. */
  attempts?: number;
  /** The first retry waits about this long, doubling each time. Default 250 ms. */
  baseDelayMs?: number;
  /** No wait is longer than this. Default 5000 ms. */
  maxDelayMs?: number;
}

export interface ChatSessionOptions {
  retry?: SendRetryOptions;
  /**
   * How long a gap may wait for the live stream to fill it (messages from
   * other pods can arrive after one's own acknowledgement) before the session
   * asks the server. Default 1000 ms.
   */
  gapGraceMs?: number;
  /**
   * Deadline of `send()`, retries and waits for a reconnect included; then it
   * rejects with `timeout`. Default 60 000 ms.
   */
  sendTimeoutMs?: number;
  /** Deadline of `resume()`, retries and waits for a reconnect included. Default 60 000 ms. */
  resumeTimeoutMs?: number;
}

/** Failures worth retrying with the same nonce: the message may or may not have been stored. */
const RETRYABLE: ReadonlySet<ErrorCode | ClientErrorCode> = new Set<ErrorCode | ClientErrorCode>([
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
 * - a channel not followed with `track()` starts at the lowest seq seen
 *   within `gapGraceMs` of its first message (at once when that is seq 1),
 *   so messages committed together but arriving out of order are all
 *   delivered; what arrives later below that start is history the app
 *   fetches (`track()` a channel whose history the app holds to skip the wait);
 * - beyond the server's replay bound it calls the resync listeners: fetch
 *   that channel's history afresh (`chat:fetch`), then carry on;
 * - `send` gives each message a nonce and retries it with the same nonce,
 *   with exponential backoff and jitter, so a retry after a lost ack or a
 *   pod crash returns the stored message instead of a second one;
 * - every promise settles: `send` and `resume` have deadlines, and reject at
 *   once when the socket is given up or the session is closed.
 */
export class ChatSession {
  readonly #socket: ParleySocket;
  readonly #retry: Required<SendRetryOptions>;
  readonly #lastSeq = new Map<string, number>();
  /** Messages not yet delivered, by channel: after a gap, or while an untracked channel starts. */
  readonly #held = new Map<string, Map<number, ChatMessage>>();
  readonly #messageListeners = new Set<MessageListener>();
  readonly #resyncListeners = new Set<ResyncListener>();
  /** Per channel with held messages: when to stop waiting for the live stream and ask the server. */
  readonly #gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Untracked channels holding their first messages: when to stop waiting for lower seqs and start. */
  readonly #startTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #gapGraceMs: number;
  readonly #sendTimeoutMs: number;
  readonly #resumeTimeoutMs: number;
  /** Aborted by close(), with a `closed` ParleyError. */
  readonly #closing = new AbortController();
  #resuming: Promise<void> | undefined;
  readonly #detach: Array<() => void> = [];

  /** `socket` should be connected. */
  constructor(socket: ParleySocket, options: ChatSessionOptions = {}) {
    this.#socket = socket;
    this.#retry = { attempts: 8, baseDelayMs: 250, maxDelayMs: 5000, ...options.retry };
    this.#gapGraceMs = options.gapGraceMs ?? 1000;
    this.#sendTimeoutMs = options.sendTimeoutMs ?? 60_000;
    this.#resumeTimeoutMs = options.resumeTimeoutMs ?? 60_000;
    this.#detach.push(socket.on('chat:new', (message) => this.#receive(message)));
    // Every later connect is a reconnect, to whichever pod: replay what was missed meanwhile.
    this.#detach.push(
      socket.onStateChange((state) => {
        if (state.status === 'connected') void this.resume().catch(() => {});
      }),
    );
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
    if (this.#startTimers.has(conversationId)) this.#start(conversationId);
  }

  /** The last seq delivered for a channel; undefined for a channel not followed. */
  lastSeq(conversationId: string): number | undefined {
    return this.#lastSeq.get(conversationId);
  }

  /**
   * Sends a message and resolves with it once stored. Retries with the same
   * nonce on timeouts, disconnections, `unavailable`, `rate_limited` and
   * `internal_error`, waiting for the socket to reconnect. Throws
   * `ParleyError`: `timeout` once `sendTimeoutMs` has passed (the message may
   * have been stored: send again with the same `nonce` to find out); `closed`
   * when this session is closed; the socket's final error when it is given up
   * (`closed`, `session_ended`, a refusal such as `auth_error`); otherwise the
   * server's code, or the last retryable one when the attempts run out.
   */
  async send(input: ChatSendRequest): Promise<ChatMessage> {
    const request = { ...input, nonce: input.nonce ?? crypto.randomUUID() };
    return this.#retrying('chat:send', this.#sendTimeoutMs, async () => {
      const { message } = await this.#socket.request('chat:send', request);
      this.#receive(message);
      return message;
    });
  }

  /**
   * Asks the server for what every followed channel missed; runs by itself
   * after each reconnect. Retries like `send`; rejects with `timeout` after
   * `resumeTimeoutMs`, or with `closed` or the socket's final error.
   */
  resume(): Promise<void> {
    this.#resuming ??= this.#resumeOnce().finally(() => (this.#resuming = undefined));
    return this.#resuming;
  }

  /** Stops listening to the socket (it stays open); pending `send` and `resume` reject with `closed`. */
  close(): void {
    this.#closing.abort(new ParleyError({ code: 'closed', message: 'The chat session was closed' }));
    for (const detach of this.#detach.splice(0)) detach();
    for (const timer of [...this.#gapTimers.values(), ...this.#startTimers.values()]) clearTimeout(timer);
    this.#gapTimers.clear();
    this.#startTimers.clear();
  }

  async #resumeOnce(): Promise<void> {
    if (this.#lastSeq.size === 0) return;
    await this.#retrying('chat:resume', this.#resumeTimeoutMs, async () => {
      const { channels } = await this.#socket.request('chat:resume', { channels: Object.fromEntries(this.#lastSeq) });
      for (const channel of channels) this.#apply(channel);
    });
  }

  /**
   * Runs `attempt` until it succeeds, retrying retryable failures after a
   * backoff and once the socket is connected again, all within `timeoutMs`.
   */
  async #retrying<T>(what: string, timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new ParleyError({ code: 'timeout', message: `${what}: not settled within ${timeoutMs} ms` })),
      timeoutMs,
    );
    const onClose = () => deadline.abort(this.#closing.signal.reason);
    if (this.#closing.signal.aborted) onClose();
    else this.#closing.signal.addEventListener('abort', onClose, { once: true });
    const { signal } = deadline;
    try {
      for (let tries = 1; ; tries++) {
        if (signal.aborted) throw signal.reason;
        try {
          return await abortable(attempt(), signal);
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if (!(error instanceof ParleyError) || !RETRYABLE.has(error.code) || tries >= this.#retry.attempts) throw error;
          await sleep(this.#backoff(tries, error.retryAfterMs), signal);
          await this.#socket.whenConnected(signal);
        }
      }
    } finally {
      clearTimeout(timer);
      this.#closing.signal.removeEventListener('abort', onClose);
    }
  }

  #apply(channel: ChannelResume): void {
    const { conversationId } = channel;
    if (channel.error || channel.resyncRequired) {
      this.#held.delete(conversationId);
      clearTimeout(this.#gapTimers.get(conversationId));
      this.#gapTimers.delete(conversationId);
    }
    if (channel.error) {
      this.#lastSeq.delete(conversationId);
      return;
    }
    if (channel.resyncRequired) {
      this.#lastSeq.set(conversationId, channel.lastSeq);
      for (const listener of this.#resyncListeners) listener(conversationId);
      return;
    }
    for (const message of channel.items) this.#receive(message);
  }

  /** Delivers a message in order, once; holds it after a gap, or while its untracked channel starts. */
  #receive(message: ChatMessage): void {
    const channel = message.conversationId;
    const last = this.#lastSeq.get(channel);
    if (last !== undefined && message.seq <= last) return;
    const held = this.#held.get(channel) ?? new Map<number, ChatMessage>();
    held.set(message.seq, message);
    this.#held.set(channel, held);
    if (last !== undefined) return this.#drain(channel);
    // Untracked: messages committed just before this one may still be on their way (concurrent sends, other
    // pods), so its sequence starts at the lowest seq seen within a grace; at once when that is the channel's first.
    if (held.has(1)) this.#start(channel);
    else if (!this.#startTimers.has(channel)) this.#startTimers.set(channel, setTimeout(() => this.#start(channel), this.#gapGraceMs));
  }

  /** Starts following an untracked channel at the lowest seq it holds (or where `track()` put it). */
  #start(channel: string): void {
    clearTimeout(this.#startTimers.get(channel));
    this.#startTimers.delete(channel);
    const held = this.#held.get(channel);
    if (!this.#lastSeq.has(channel)) {
      if (!held?.size) return;
      this.#lastSeq.set(channel, Math.min(...held.keys()) - 1);
    }
    this.#drain(channel);
  }

  /** Delivers what follows the channel's last seq without a gap; waits a grace for the rest, then asks the server. */
  #drain(channel: string): void {
    const held = this.#held.get(channel);
    let last = this.#lastSeq.get(channel);
    if (!held || last === undefined) return;
    for (let next = held.get(last + 1); next; next = held.get(last + 1)) {
      held.delete(next.seq);
      last = next.seq;
      this.#lastSeq.set(channel, last);
      for (const listener of this.#messageListeners) listener(next);
    }
    for (const seq of held.keys()) if (seq <= last) held.delete(seq);
    if (held.size === 0) {
      this.#held.delete(channel);
      clearTimeout(this.#gapTimers.get(channel));
      this.#gapTimers.delete(channel);
    } else if (!this.#gapTimers.has(channel)) {
      const timer = setTimeout(() => {
        this.#gapTimers.delete(channel);
        void this.resume().catch(() => {});
      }, this.#gapGraceMs);
      this.#gapTimers.set(channel, timer);
    }
  }

  #backoff(attempt: number, retryAfterMs: number | undefined): number {
    const exponential = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    // Jitter on the upper half, so clients that failed together do not retry together.
    return Math.max(retryAfterMs ?? 0, exponential * (0.5 + Math.random() / 2));
  }
}

/** `promise`, or `signal`'s reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason as unknown);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Waits `ms`, or rejects with `signal`'s reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as unknown);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
