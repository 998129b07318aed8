import net from 'node:net';

/**
 * A loopback TCP pass-through in front of one address (the balancer) that can
 * cut every open connection at once, as a load balancer restarting or a
 * network blip would, while it goes on accepting new ones: the reconnect storm.
 */
export class ConnectionCutter {
  readonly #server: net.Server;
  readonly #pairs = new Set<[net.Socket, net.Socket]>();
  port = 0;

  private constructor(targetPort: number) {
    this.#server = net.createServer((client) => this.#forward(client, targetPort));
  }

  static async start(targetPort: number): Promise<ConnectionCutter> {
    const cutter = new ConnectionCutter(targetPort);
    await new Promise<void>((resolve) => cutter.#server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
    cutter.port = (cutter.#server.address() as net.AddressInfo).port;
    return cutter;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get openConnections(): number {
    return this.#pairs.size;
  }

  /** Resets every open connection; returns how many there were. */
  cutAll(): number {
    const pairs = [...this.#pairs];
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    return pairs.length;
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #forward(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.#pairs.add(pair);
    const close = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream).pipe(client);
  }
}
