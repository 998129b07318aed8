import net from 'node:net';

/**
 * A TCP load balancer on loopback, as HAProxy or a Kubernetes Service would
 * be in front of the pods: each new connection goes to the next backend in
 * turn, skipping backends that refuse it. Tests use it to watch clients of a
 * killed pod reconnect to the others through one address.
 */
export class TcpBalancer {
  readonly #server: net.Server;
  readonly #backends: () => Array<{ host: string; port: number }>;
  readonly #sockets = new Set<net.Socket>();
  #next = 0;
  port = 0;

  private constructor(backends: () => Array<{ host: string; port: number }>) {
    this.#backends = backends;
    this.#server = net.createServer((client) => this.#forward(client));
  }

  /** Listens on a free loopback port; `backends` is read at every connection (pods restart on new ports). */
  static async start(backends: () => Array<{ host: string; port: number }>): Promise<TcpBalancer> {
    const balancer = new TcpBalancer(backends);
    await new Promise<void>((resolve) => balancer.#server.listen(0, '127.0.0.1', resolve));
    balancer.port = (balancer.#server.address() as net.AddressInfo).port;
    return balancer;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #forward(client: net.Socket, tried = 0): void {
    if (tried === 0) {
      this.#track(client);
      // A client that resets while its backend is being chosen must not crash the test process.
      client.on('error', () => client.destroy());
      client.pause();
    }
    const backends = this.#backends();
    if (tried >= backends.length) {
      client.destroy();
      return;
    }
    const backend = backends[this.#next++ % backends.length]!;
    const upstream = net.connect(backend.port, backend.host);
    // Whether the backend accepted, not `readyState`: on Node 24 a refused socket is already 'closed' in its error handler.
    let accepted = false;
    let skipped = false;
    upstream.on('error', () => {
      if (accepted) client.destroy();
      else if (!skipped && !client.destroyed) {
        skipped = true;
        this.#forward(client, tried + 1);
      }
    });
    upstream.once('connect', () => {
      accepted = true;
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      this.#track(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  }

  #track(socket: net.Socket): void {
    if (this.#sockets.has(socket)) return;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }
}
