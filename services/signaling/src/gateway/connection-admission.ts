import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors.ts';
import { isOriginAllowed } from '../origin-policy.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { requestAddress } from './client-address.ts';
import { AUTHENTICATION_DEADLINE_MS, type ParleyServer, type ParleySocket } from './socket-server.ts';

type EngineConnection = ParleySocket['conn'];

/** Namespace connection attempts one Engine.IO connection may make (each one authenticates against the database). */
const MAX_ATTEMPTS_PER_CONNECTION = 3;

export interface AdmissionPolicy {
  /** Browser origins allowed; empty: all. */
  readonly allowedOrigins: readonly string[];
  /** Connections between their Engine.IO handshake and a successful authentication, per client IP and per pod. */
  readonly maxUnauthenticatedPerIp: number;
  readonly maxUnauthenticated: number;
  readonly trustProxyHops: number;
}

/**
 * Decides, before any database work, whether a new Socket.IO connection may
 * start: its Origin is allowed, the pod is not draining, its IP is within
 * its handshake rate (counted per pod, in memory: a flood costs no Redis or
 * database round trip), and neither its IP nor the pod holds too many
 * connections that have not authenticated yet. It also caps how often one
 * Engine.IO connection may try to authenticate.
 */
export class ConnectionAdmission {
  readonly #policy: AdmissionPolicy;
  readonly #handshakes: RateLimiter;
  readonly #draining: () => boolean;
  readonly #onRefused: (code: string) => void;
  /** Unauthenticated Engine.IO connections by client IP, and each one's IP. */
  readonly #pending = new Map<string, Set<EngineConnection>>();
  readonly #addressOf = new WeakMap<EngineConnection, string>();
  #pendingTotal = 0;
  readonly #attempts = new WeakMap<EngineConnection, number>();
  /** The authentication deadline and close listener of each unauthenticated connection. */
  readonly #watches = new Map<EngineConnection, { deadline: NodeJS.Timeout; onClose: () => void }>();

  constructor(options: {
    policy: AdmissionPolicy;
    handshakeLimiter: RateLimiter;
    draining: () => boolean;
    onRefused?: (code: string) => void;
  }) {
    this.#policy = options.policy;
    this.#handshakes = options.handshakeLimiter;
    this.#draining = options.draining;
    this.#onRefused = options.onRefused ?? (() => {});
  }

  /** The refusal of an HTTP request or upgrade to Socket.IO's path, or undefined to let it through. */
  async refusalOf(request: IncomingMessage): Promise<AppError | undefined> {
    const refusal = await this.#check(request);
    if (refusal) this.#onRefused(refusal.code);
    return refusal;
  }

  async #check(request: IncomingMessage): Promise<AppError | undefined> {
    if (!isOriginAllowed(request.headers.origin, this.#policy.allowedOrigins)) return new AppError('origin_not_allowed');
    // Requests of an established connection (long-polling, its upgrade) carry its session id.
    if (new URL(request.url ?? '/', 'http://pod').searchParams.has('sid')) return undefined;
    if (this.#draining()) {
      return new AppError('unavailable', 'This pod is shutting down; connect to another', { retryAfterMs: 1000 });
    }
    const address = requestAddress(request, this.#policy.trustProxyHops);
    if ((this.#pending.get(address)?.size ?? 0) >= this.#policy.maxUnauthenticatedPerIp) {
      return new AppError('rate_limited', 'Too many connections from this address are still signing in', { retryAfterMs: 1000 });
    }
    if (this.#pendingTotal >= this.#policy.maxUnauthenticated) {
      return new AppError('unavailable', 'This pod has too many connections signing in; try again', { retryAfterMs: 1000 });
    }
    const verdict = await this.#handshakes.consume(address);
    if (!verdict.allowed) {
      return new AppError('rate_limited', 'Too many connection attempts from this address', { retryAfterMs: verdict.retryAfterMs });
    }
    return undefined;
  }

  /**
   * Follows the server's connections: each counts as unauthenticated from its
   * Engine.IO handshake until its first namespace connection succeeds, it
   * closes, or its authentication deadline passes (Socket.IO then closes it,
   * which for an idle long-polling connection takes Engine.IO up to 30 s more).
   */
  watch(io: ParleyServer): void {
    io.engine.on('connection', (connection: EngineConnection) => {
      const address = requestAddress(connection.request, this.#policy.trustProxyHops);
      const pending = this.#pending.get(address) ?? new Set<EngineConnection>();
      this.#pending.set(address, pending.add(connection));
      this.#addressOf.set(connection, address);
      this.#pendingTotal++;
      // Both are dropped once the connection is settled, so an authenticated one keeps neither.
      const deadline = setTimeout(() => this.#settled(connection), AUTHENTICATION_DEADLINE_MS);
      deadline.unref();
      const onClose = () => this.#settled(connection);
      connection.once('close', onClose);
      this.#watches.set(connection, { deadline, onClose });
    });
    io.on('connection', (socket) => this.#settled(socket.conn));
  }

  /** The client address of an Engine.IO connection, as its opening request gave it. */
  addressOf(connection: EngineConnection): string | undefined {
    return this.#addressOf.get(connection);
  }

  /**
   * Spends one of an Engine.IO connection's authentication attempts; false
   * once they are used up (the caller closes the connection).
   */
  attempt(connection: EngineConnection): boolean {
    const attempts = (this.#attempts.get(connection) ?? 0) + 1;
    this.#attempts.set(connection, attempts);
    return attempts <= MAX_ATTEMPTS_PER_CONNECTION;
  }

  #settled(connection: EngineConnection): void {
    const watch = this.#watches.get(connection);
    if (watch) {
      this.#watches.delete(connection);
      clearTimeout(watch.deadline);
      connection.off('close', watch.onClose);
    }
    const address = this.#addressOf.get(connection);
    const pending = address === undefined ? undefined : this.#pending.get(address);
    if (!pending?.delete(connection)) return;
    this.#pendingTotal--;
    if (pending.size === 0) this.#pending.delete(address!);
  }
}
