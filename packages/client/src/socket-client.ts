import type {
  AckResponse,
  AckResult,
  ClientEventName,
  ClientToServerEvents,
  ErrorPayload,
  EventPayload,
  ServerToClientEvents,
} from '@parley/protocol';
import { io, type Socket } from 'socket.io-client';
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
  /** Reconnect automatically with exponential backoff and jitter. Default true. */
  reconnection?: boolean;
  /** How long a request waits for its acknowledgement. Default 10 000 ms. */
  ackTimeoutMs?: number;
  /** Default `['websocket']`: no sticky sessions needed behind a load balancer. */
  transports?: Array<'websocket' | 'polling'>;
}

/**
 * A typed Socket.IO connection to Parley. `request()` sends a client event
 * and resolves with its acknowledgement, or throws `ParleyError`.
 */
export class ParleySocket {
  readonly socket: ParleyClientSocket;
  readonly clientInstanceId: string;
  readonly #ackTimeoutMs: number;

  private constructor(socket: ParleyClientSocket, clientInstanceId: string, ackTimeoutMs: number) {
    this.socket = socket;
    this.clientInstanceId = clientInstanceId;
    this.#ackTimeoutMs = ackTimeoutMs;
  }

  /**
   * Connects and resolves once the handshake is accepted. Rejects with
   * `ParleyError` carrying the server's code (`auth_required`, `auth_error`,
   * `unavailable`) when it is refused, or `network_error` when the connection
   * itself failed (unreachable, or a foreign Origin refused with HTTP 403).
   */
  static connect(options: ParleySocketOptions): Promise<ParleySocket> {
    const clientInstanceId = options.clientInstanceId ?? crypto.randomUUID();
    const socket: ParleyClientSocket = io(options.url, {
      transports: options.transports ?? ['websocket'],
      reconnection: options.reconnection ?? true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
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
    const client = new ParleySocket(socket, clientInstanceId, options.ackTimeoutMs ?? 10_000);
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        socket.off('connect_error', onError);
        resolve(client);
      };
      const onError = (error: Error & { data?: Partial<ErrorPayload> }) => {
        socket.off('connect', onConnect);
        socket.disconnect();
        // Without `data`, the refusal came before the handshake (e.g. a foreign Origin: HTTP 403).
        const code = error.data?.code ?? 'network_error';
        reject(new ParleyError({ ...error.data, code, message: error.data?.message ?? error.message }));
      };
      socket.once('connect', onConnect);
      socket.once('connect_error', onError);
    });
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Sends a client event and resolves with its acknowledgement's body. */
  async request<E extends ClientEventName>(event: E, payload: EventPayload<E>): Promise<AckResult<E>> {
    let response: AckResponse<AckResult<E>>;
    try {
      // socket.io-client's typings cannot follow a generic event name; the event map above is the contract.
      const timed = this.socket.timeout(this.#ackTimeoutMs);
      const emit = timed.emitWithAck as (event: E, payload: EventPayload<E>) => Promise<AckResponse<AckResult<E>>>;
      response = await emit.call(timed, event, payload);
    } catch (error) {
      const code = this.socket.connected ? 'timeout' : 'disconnected';
      throw new ParleyError({ code, message: `${event}: ${(error as Error).message}` });
    }
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

  close(): void {
    this.socket.disconnect();
  }
}
