import { io, type Socket } from 'socket.io-client';
import { latencyFigures, type LatencyFigures } from './latency-stats.ts';

/** Where one client connects, and the handshake `auth` it presents. */
export interface ClientSpec {
  url: string;
  auth: Record<string, string>;
}

export interface ConnectReport {
  requested: number;
  connected: number;
  /** Refused or failed handshakes, by the server's error code (or message). */
  failures: Record<string, number>;
  durationMs: number;
  perSecond: number;
  /** From `io()` to `connect`, per socket. */
  latencyMs: LatencyFigures;
}

export interface ConnectOptions {
  /** Handshakes in flight at once: bounds the connection rate. */
  concurrency: number;
  /** Count bytes received per socket from the moment it connects (see `receivedBytes`). */
  countBytes?: boolean;
  signal?: AbortSignal;
  /** Called every `progressEvery` connections. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

/**
 * Socket.IO client connections for load, one WebSocket each (no multiplexing,
 * no polling, no reconnection: a lost connection stays lost and is counted).
 * Both Parley and the bare relay are driven through plain socket.io-client,
 * so the client side costs the same against either.
 */
export class SocketPool {
  /** Aligned with the specs: undefined where the handshake failed. */
  readonly sockets: Array<Socket | undefined>;
  readonly report: ConnectReport;
  readonly #bytes: Float64Array;
  #closing = false;
  #unexpectedDisconnects = 0;

  private constructor(sockets: Array<Socket | undefined>, report: ConnectReport, bytes: Float64Array) {
    this.sockets = sockets;
    this.report = report;
    this.#bytes = bytes;
    for (const socket of sockets) {
      socket?.on('disconnect', (reason) => {
        if (!this.#closing && reason !== 'io client disconnect') this.#unexpectedDisconnects += 1;
      });
    }
  }

  static async connect(specs: readonly ClientSpec[], options: ConnectOptions): Promise<SocketPool> {
    const sockets: Array<Socket | undefined> = new Array(specs.length).fill(undefined);
    const bytes = new Float64Array(specs.length);
    const failures: Record<string, number> = {};
    const latencies: number[] = [];
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < specs.length && !options.signal?.aborted) {
        const index = next++;
        const started = performance.now();
        try {
          const socket = await connectOne(specs[index]!);
          latencies.push(performance.now() - started);
          sockets[index] = socket;
          if (options.countBytes) countBytes(socket, bytes, index);
        } catch (error) {
          const key = (error as Error).message;
          failures[key] = (failures[key] ?? 0) + 1;
        }
        done += 1;
        if (options.onProgress && done % (options.progressEvery ?? 1000) === 0) options.onProgress(done, specs.length);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: Math.min(options.concurrency, specs.length) }, worker));
    const durationMs = performance.now() - started;
    const pool = new SocketPool(
      sockets,
      {
        requested: specs.length,
        connected: latencies.length,
        failures,
        durationMs,
        perSecond: latencies.length / (durationMs / 1000),
        latencyMs: latencyFigures(latencies),
      },
      bytes,
    );
    if (options.signal?.aborted) {
      await pool.close();
      options.signal.throwIfAborted();
    }
    return pool;
  }

  get connectedSockets(): Socket[] {
    return this.sockets.filter((socket): socket is Socket => socket !== undefined);
  }

  /** Connections lost since they were made, other than by `close()`. */
  get unexpectedDisconnects(): number {
    return this.#unexpectedDisconnects;
  }

  /** Bytes socket `index` has received (engine.io packets: type byte + payload; WebSocket framing excluded). */
  receivedBytes(index: number): number {
    return this.#bytes[index] ?? 0;
  }

  totalReceivedBytes(): number {
    return this.#bytes.reduce((sum, value) => sum + value, 0);
  }

  /** Disconnects every socket and gives the servers a moment to see the close frames. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const socket of this.sockets) socket?.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function connectOne(spec: ClientSpec): Promise<Socket> {
  const socket = io(spec.url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 20_000,
    auth: spec.auth,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('connect_error');
      resolve(socket);
    });
    socket.once('connect_error', (error: Error & { data?: { code?: string } }) => {
      socket.disconnect();
      reject(new Error(error.data?.code ?? error.message));
    });
  });
}

function countBytes(socket: Socket, bytes: Float64Array, index: number): void {
  socket.io.engine.on('packet', (packet: { data?: unknown }) => {
    const { data } = packet;
    const size = typeof data === 'string' ? Buffer.byteLength(data) : ((data as { byteLength?: number } | undefined)?.byteLength ?? 0);
    bytes[index] = (bytes[index] ?? 0) + 1 + size;
  });
}
