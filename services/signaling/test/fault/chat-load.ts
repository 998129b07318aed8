import { ChatSession, ParleyError, ParleySocket } from '@parley/client';
import type { ChatMessage } from '@parley/protocol';

/** One chat client: a socket through the balancer, a ChatSession on it, and what it saw. */
export interface ChatClient {
  readonly index: number;
  readonly socket: ParleySocket;
  readonly session: ChatSession;
  /** What the session delivered to the app, in order. */
  readonly delivered: ChatMessage[];
  /** This client's acknowledged sends, with performance.now() when each ack arrived. */
  readonly acknowledged: Array<{ message: ChatMessage; at: number }>;
  /** Sends that threw (after the session's retries), with the error code. */
  readonly failures: Array<{ code: string; at: number }>;
  readonly disconnects: Array<{ reason: string; at: number }>;
  /** Refused (re)connections: the server's code, or the transport's message. */
  readonly connectErrors: Array<{ code: string; at: number }>;
  resyncs: number;
  /** A send still waiting for its answer. */
  sending: boolean;
}

export interface ChatLoadOptions {
  url: string;
  /** One session token per client. */
  tokens: string[];
  channelId: string;
  /** Prefix of every message text (the scenario's name): texts are unique, so a second stored copy shows. */
  label: string;
  /** Pause between one client's sends. Default 100 ms. */
  sendEveryMs?: number;
  /** Default 3000 ms. */
  ackTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * N SDK clients in one channel: each streams messages into it (one at a
 * time, through `ChatSession.send` with its nonce retries) and all read it.
 */
export class ChatLoad {
  readonly clients: ChatClient[];
  readonly #options: ChatLoadOptions;
  #sending: Array<Promise<void>> = [];
  #stopped = false;

  private constructor(clients: ChatClient[], options: ChatLoadOptions) {
    this.clients = clients;
    this.#options = options;
  }

  /** Connects every client and follows the channel from its start. */
  static async connect(options: ChatLoadOptions): Promise<ChatLoad> {
    const clients = await Promise.all(
      options.tokens.map(async (token, index): Promise<ChatClient> => {
        const socket = await ParleySocket.connect({ url: options.url, token, ackTimeoutMs: options.ackTimeoutMs ?? 3000 });
        const session = new ChatSession(socket, { retry: { attempts: 40, baseDelayMs: 100, maxDelayMs: 1000 } });
        session.track(options.channelId, 0);
        const client: ChatClient = {
          index,
          socket,
          session,
          delivered: [],
          acknowledged: [],
          failures: [],
          disconnects: [],
          connectErrors: [],
          resyncs: 0,
          sending: false,
        };
        session.onMessage((message) => {
          if (message.conversationId === options.channelId) client.delivered.push(message);
        });
        session.onResync(() => client.resyncs++);
        socket.socket.on('disconnect', (reason) => client.disconnects.push({ reason, at: performance.now() }));
        socket.socket.on('connect_error', (error: Error & { data?: { code?: string } }) =>
          client.connectErrors.push({ code: error.data?.code ?? error.message, at: performance.now() }),
        );
        return client;
      }),
    );
    return new ChatLoad(clients, options);
  }

  /** Every client starts streaming until `stopSending()`. */
  startSending(): void {
    this.#sending = this.clients.map((client) => this.#stream(client));
  }

  /**
   * Stops starting new sends and waits up to `timeoutMs` for those in flight
   * (a send waits for its socket to come back; a stranded one never returns).
   * Resolves with how many were still in flight.
   */
  async stopSending(timeoutMs: number): Promise<number> {
    this.#stopped = true;
    const settled = Promise.all(this.#sending).then(() => true);
    const gaveUp = sleep(timeoutMs).then(() => false);
    await Promise.race([settled, gaveUp]);
    return this.clients.filter((client) => client.sending).length;
  }

  /** Acknowledgements received so far. */
  get acknowledgedCount(): number {
    return this.clients.reduce((sum, client) => sum + client.acknowledged.length, 0);
  }

  /** Acknowledgements that arrived within [from, to) (performance.now() readings). */
  acknowledgedBetween(from: number, to: number): number {
    return this.clients.reduce(
      (sum, client) => sum + client.acknowledged.filter((ack) => ack.at >= from && ack.at < to).length,
      0,
    );
  }

  /** Whether every client has at least `count` acks that arrived after `since`. */
  everyClientAcknowledgedSince(since: number, count: number): boolean {
    return this.clients.every((client) => client.acknowledged.filter((ack) => ack.at >= since).length >= count);
  }

  /** How many clients reported a disconnection at or after `since`. */
  disconnectedSince(since: number): number {
    return this.clients.filter((client) => client.disconnects.some((event) => event.at >= since)).length;
  }

  allConnected(): boolean {
    return this.clients.every((client) => client.socket.connected);
  }

  /** Every client has been delivered the channel's messages up to `lastSeq`. */
  caughtUpTo(lastSeq: number): boolean {
    return this.clients.every((client) => (client.session.lastSeq(this.#options.channelId) ?? 0) >= lastSeq);
  }

  /** Clients whose socket gave up reconnecting. */
  stranded(): number {
    return this.clients.filter((client) => gaveUp(client.socket)).length;
  }

  close(): void {
    this.#stopped = true;
    for (const client of this.clients) {
      client.session.close();
      client.socket.close();
    }
  }

  async #stream(client: ChatClient): Promise<void> {
    const { channelId, label } = this.#options;
    for (let i = 0; !this.#stopped; i++) {
      client.sending = true;
      try {
        const message = await client.session.send({ conversationId: channelId, text: `${label} c${client.index} m${i}` });
        client.acknowledged.push({ message, at: performance.now() });
      } catch (error) {
        client.failures.push({ code: error instanceof ParleyError ? error.code : String(error), at: performance.now() });
      } finally {
        client.sending = false;
      }
      await sleep(this.#options.sendEveryMs ?? 100);
    }
  }
}

/** Whether a socket stopped reconnecting for good (a refusal retrying cannot cure, or the SDK gave up). */
export function gaveUp(socket: ParleySocket): boolean {
  return socket.state.status === 'disconnected';
}
