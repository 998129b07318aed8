import type {
  AckResponse,
  AckResult,
  ClientEventName,
  ClientToServerEvents,
  ErrorPayload,
  EventPayload,
  ServerToClientEvents,
  SessionEndReason,
} from '@parley/protocol';
import { io, type Socket } from 'socket.io-client';
import {
  reconnectDelay,
  RECONNECT_BASE_MS,
  RECONNECT_MAX_MS,
  RETRYABLE_REFUSALS,
  type ConnectionState,
  type DisconnectReason,
} from './connection-state.ts';
import { ParleyError } from './parley-error.ts';

export type ParleyClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ParleySocketOptions {
  /** The pod or load balancer, e.g. `http://localhost:5000`. */
  url: string;
  /**
   * Session token or OIDC access token. A function is called at every
   * (re)connection, so an expiring OIDC token can be refreshed.
   */
  token: string | (() => string | Promise<string>);
  /** Stable per-tab id; default: a random UUID per client instance. */
  clientInstanceId?: string;
  /** The URL the client believes it talks to; with the user and `clientInstanceId` it names one connection. */
  connectionScope?: string;
  displayName?: string;
  /** The seed's name for the user id; when given, the server checks it matches the token. */
  oderId?: string;
  /**
   * Reconnect by itself after the first connect, with exponential backoff
   * and full jitter (500 ms doubling to 5 s, never sooner than the server's
   * `retryAfterMs`). Default true. When false, a lost connection is
   * `disconnected` for good.
   */
  reconnection?: boolean;
  /** How long a request waits for its acknowledgement. Default 10 000 ms. */
  ackTimeoutMs?: number;
  /** Default `['websocket']`: no sticky sessions needed behind a load balancer. */
  transports?: Array<'websocket' | 'polling'>;
}

/**
 * A typed Socket.IO connection to Parley. `request()` sends a client event
 * and resolves with its acknowledgement, or throws `ParleyError`.
 *
 * After the first connect it reconnects by itself (to whichever pod the
 * address leads to) until it succeeds, the app calls `close()`, the server
 * ends the session, or a reconnect is refused with a code retrying cannot
 * change. Then it is `disconnected` for good: everything pending rejects with
 * that error, and so does every later request.
 */
export class ParleySocket {
  /**
   * The socket.io-client socket underneath. While a refused handshake waits
   * to be retried it is inactive (`active` false) although this socket is
   * still `reconnecting`: read `state` to know whether it gave up.
   */
  readonly socket: ParleyClientSocket;
  readonly clientInstanceId: string;
  readonly #ackTimeoutMs: number;
  readonly #reconnection: boolean;
  #state: ConnectionState = { status: 'connected' };
  readonly #stateListeners = new Set<(state: ConnectionState) => void>();
  /** Rejects what waits on the connection (requests, `whenConnected`) once it is given up. */
  readonly #waiting = new Set<(error: ParleyError) => void>();
  /** Failed attempts since the last connect. */
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #sessionEndReason: SessionEndReason | undefined;

  private constructor(socket: ParleyClientSocket, clientInstanceId: string, options: ParleySocketOptions) {
    this.socket = socket;
    this.clientInstanceId = clientInstanceId;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.#reconnection = options.reconnection ?? true;
  }

  /**
   * Connects and resolves once the handshake is accepted. Rejects with
   * `ParleyError` carrying the server's code (`auth_required`, `auth_error`,
   * `unavailable`, `rate_limited`, ...) when it is refused, or `network_error`
   * when the connection itself failed (unreachable, or refused before
   * Socket.IO, e.g. a foreign Origin with HTTP 403). The first attempt is not
   * retried: the caller decides.
   */
  static connect(options: ParleySocketOptions): Promise<ParleySocket> {
    const clientInstanceId = options.clientInstanceId ?? crypto.randomUUID();
    const socket: ParleyClientSocket = io(options.url, {
      transports: options.transports ?? ['websocket'],
      reconnection: options.reconnection ?? true,
      // The delays of later reconnects are set by #retryThroughManager.
      reconnectionDelay: RECONNECT_BASE_MS,
      reconnectionDelayMax: RECONNECT_MAX_MS,
      auth: (send) => {
        const identify = (token: string) =>
          send({
            token,
            clientInstanceId,
            ...(options.connectionScope === undefined ? {} : { connectionScope: options.connectionScope }),
            ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
            ...(options.oderId === undefined ? {} : { oderId: options.oderId }),
          });
        // A token provider that fails sends no token: the server answers `auth_required`.
        void Promise.resolve()
          .then(() => (typeof options.token === 'function' ? options.token() : options.token))
          .then(identify, () => identify(''));
      },
    });
    const client = new ParleySocket(socket, clientInstanceId, options);
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        socket.off('connect_error', onError);
        client.#watch();
        resolve(client);
      };
      const onError = (error: Error & { data?: Partial<ErrorPayload> }) => {
        socket.off('connect', onConnect);
        socket.disconnect();
        reject(refusalOf(error));
      };
      socket.once('connect', onConnect);
      socket.once('connect_error', onError);
    });
  }

  /** Whether the socket is connected now. */
  get connected(): boolean {
    return this.socket.connected;
  }

  /** The current connection state (`connected` right after `connect()`). */
  get state(): ConnectionState {
    return this.#state;
  }

  /**
   * Calls `listener` on every change of connection state, and again before
   * each reconnect attempt (`reconnecting` with its attempt and delay).
   * Returns the unsubscribe function.
   */
  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /**
   * Resolves when the socket is connected (at once if it is). Rejects with
   * the socket's final error once it is `disconnected` for good (`closed`,
   * `session_ended`, the server's refusal), or with `signal`'s reason.
   */
  whenConnected(signal?: AbortSignal): Promise<void> {
    if (this.#state.status === 'disconnected') return Promise.reject(this.#state.error);
    if (signal?.aborted) return Promise.reject(signal.reason as unknown);
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        unsubscribe();
        this.#waiting.delete(fail);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (error: unknown) => {
        done();
        reject(error);
      };
      const onAbort = () => fail(signal?.reason);
      const unsubscribe = this.onStateChange((state) => {
        if (state.status !== 'connected') return;
        done();
        resolve();
      });
      this.#waiting.add(fail);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Sends a client event and resolves with its acknowledgement's body. Sent
   * while reconnecting, it goes out once connected. Throws `ParleyError`: the
   * server's code; `timeout` when no acknowledgement came within
   * `ackTimeoutMs` on a live connection; `disconnected` when the connection
   * dropped first, or was still away at the deadline; the final error
   * (`closed`, `session_ended`, a refusal) once the socket is given up.
   */
  async request<E extends ClientEventName>(event: E, payload: EventPayload<E>): Promise<AckResult<E>> {
    if (this.#state.status === 'disconnected') throw this.#state.error;
    const response = await new Promise<AckResponse<AckResult<E>>>((resolve, reject) => {
      this.#waiting.add(reject);
      // socket.io-client's typings cannot follow a generic event name; the event map above is the contract.
      const timed = this.socket.timeout(this.#ackTimeoutMs);
      const emit = timed.emitWithAck as (event: E, payload: EventPayload<E>) => Promise<AckResponse<AckResult<E>>>;
      emit
        .call(timed, event, payload)
        .then(resolve, (error: Error) => {
          const code = this.socket.connected ? 'timeout' : 'disconnected';
          reject(new ParleyError({ code, message: `${event}: ${error.message}` }));
        })
        .finally(() => this.#waiting.delete(reject));
    });
    if (!response.ok) throw new ParleyError(response.error);
    const { ok: _ok, ...result } = response;
    return result as unknown as AckResult<E>;
  }

  /** Subscribes to a server event; returns the unsubscribe function. */
  on<E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): () => void {
    // Same limitation as in request(): the listener type is checked by the signature above.
    (this.socket.on as (event: E, listener: ServerToClientEvents[E]) => void)(event, listener);
    return () => (this.socket.off as (event: E, listener: ServerToClientEvents[E]) => void)(event, listener);
  }

  /** Closes the connection for good: pending requests and `whenConnected` reject with `closed`. */
  close(): void {
    this.#giveUp('closed', new ParleyError({ code: 'closed', message: 'The socket was closed' }));
  }

  /** Follows the connection after the first connect. */
  #watch(): void {
    this.socket.on('connect', () => {
      clearTimeout(this.#retryTimer);
      this.#attempt = 0;
      this.#setState({ status: 'connected' });
    });
    this.socket.on('disconnect', (reason) => this.#onDisconnect(reason));
    this.socket.on('connect_error', (error: Error & { data?: Partial<ErrorPayload> }) => this.#onConnectError(error));
    this.on('session:ended', ({ reason }) => {
      this.#sessionEndReason = reason;
    });
  }

  #onDisconnect(reason: Socket.DisconnectReason): void {
    if (reason === 'io client disconnect') {
      // The app closed the raw socket itself.
      this.close();
    } else if (reason === 'io server disconnect') {
      const why = this.#sessionEndReason === undefined ? '' : ` (${this.#sessionEndReason})`;
      this.#giveUp('ended', new ParleyError({ code: 'session_ended', message: `The server ended the session${why}` }));
    } else {
      const error = new ParleyError({ code: 'disconnected', message: `The connection was lost: ${reason}` });
      if (this.#reconnection) this.#retryThroughManager(error);
      else this.#giveUp('lost', error);
    }
  }

  #onConnectError(error: Error & { data?: Partial<ErrorPayload> }): void {
    if (this.#state.status === 'disconnected') return;
    const failure = refusalOf(error);
    if (this.socket.active) {
      // A transport failure (unreachable, or HTTP 403/429/503 on the upgrade): the Manager retries it by itself.
      if (this.#reconnection) this.#retryThroughManager(failure);
      else this.#giveUp('lost', failure);
    } else if (this.#reconnection && RETRYABLE_REFUSALS.has(failure.code)) {
      // The server refused the handshake: socket.io-client destroyed the socket and will not retry it.
      const delayMs = this.#nextDelay(failure.retryAfterMs);
      this.#retryTimer = setTimeout(() => this.socket.connect(), delayMs);
      this.#setState({ status: 'reconnecting', error: failure, attempt: this.#attempt, delayMs });
    } else {
      this.#giveUp('refused', failure);
    }
  }

  /**
   * socket.io-client's Manager retries a lost connection and a failed
   * transport by itself, and computes the delay right after the `disconnect`
   * or `connect_error` event this runs in (manager.js: `onclose()` and the
   * error handler of `open()` emit first, then call `reconnect()`, which reads
   * `backoff.duration()`). Pinning its delay range to one value makes it wait
   * exactly the delay chosen here, so every reconnect follows one policy and
   * the state can tell the delay.
   */
  #retryThroughManager(error: ParleyError): void {
    const delayMs = this.#nextDelay(undefined);
    this.socket.io.randomizationFactor(0).reconnectionDelay(delayMs).reconnectionDelayMax(delayMs);
    this.#setState({ status: 'reconnecting', error, attempt: this.#attempt, delayMs });
  }

  #nextDelay(retryAfterMs: number | undefined): number {
    return reconnectDelay(++this.#attempt, retryAfterMs);
  }

  #giveUp(reason: DisconnectReason, error: ParleyError): void {
    if (this.#state.status === 'disconnected') return;
    this.#state = { status: 'disconnected', reason, error };
    clearTimeout(this.#retryTimer);
    // Before disconnecting: socket.io-client would fail in-flight acks with a plain `disconnected`.
    for (const reject of [...this.#waiting]) reject(error);
    this.#waiting.clear();
    this.socket.disconnect();
    this.#notify();
  }

  #setState(state: ConnectionState): void {
    if (this.#state.status === 'disconnected') return;
    this.#state = state;
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#stateListeners]) listener(this.#state);
  }
}

/** The server's refusal from a `connect_error`, or `network_error` when it came before Socket.IO answered. */
function refusalOf(error: Error & { data?: Partial<ErrorPayload> }): ParleyError {
  const code = error.data?.code ?? 'network_error';
  return new ParleyError({ ...error.data, code, message: error.data?.message ?? error.message });
}
