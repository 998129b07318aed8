import net from 'node:net';

/**
 * A TCP proxy to one port that can be shut: while shut it resets every new
 * connection, as a load balancer with no healthy backend would, so the client
 * sees a transport failure rather than a Socket.IO refusal.
 */
export class GateProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  open = true;
  /** Connections reset while shut. */
  refused = 0;
  port = 0;

  private constructor(targetPort: number) {
    this.#server = net.createServer((client) => {
      this.#track(client);
      client.on('error', () => client.destroy());
      if (!this.open) {
        this.refused++;
        client.resetAndDestroy();
        return;
      }
      const upstream = net.connect(targetPort, '127.0.0.1');
      this.#track(upstream);
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  }

  static async start(targetPort: number): Promise<GateProxy> {
    const proxy = new GateProxy(targetPort);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.#server.address() as net.AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Shuts the gate and cuts every connection through it. */
  shut(): void {
    this.open = false;
    for (const socket of this.#sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.shut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }
}
