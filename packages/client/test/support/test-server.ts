import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  AckResponse,
  ChatMessage,
  ChatSendRequest,
  ChatSendResult,
  ClientToServerEvents,
  ErrorPayload,
  ServerToClientEvents,
} from '@parley/protocol';
import { Server, type Socket } from 'socket.io';

type ServerSocket = Socket<ClientToServerEvents, ServerToClientEvents>;
type SendAck = (response: AckResponse<ChatSendResult>) => void;

/** Decides a handshake: nothing to accept it, an error payload to refuse it (as Parley's middleware does). */
export type HandshakePolicy = (attempt: number) => ErrorPayload | undefined | Promise<ErrorPayload | undefined>;

/**
 * A real Socket.IO server in this process, speaking enough of Parley's
 * protocol for the SDK: a swappable handshake policy, and `chat:send` /
 * `chat:resume` over an in-memory message log (idempotent by nonce).
 */
export class TestServer {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents>;
  readonly url: string;
  /** Every handshake the middleware saw, accepted or not. */
  handshakes = 0;
  handshake: HandshakePolicy = () => undefined;
  /** Answers `chat:send`; by default stores the message and acknowledges it. */
  onSend: (payload: ChatSendRequest, ack: SendAck, socket: ServerSocket) => void = (payload, ack) =>
    ack({ ok: true, message: this.store(payload) });
  /** Every `chat:send` received, retries included. */
  readonly sends: ChatSendRequest[] = [];
  readonly #messages = new Map<string, ChatMessage[]>();

  private constructor(io: Server<ClientToServerEvents, ServerToClientEvents>, url: string) {
    this.io = io;
    this.url = url;
    io.use((_socket, next) => {
      const attempt = ++this.handshakes;
      void Promise.resolve(this.handshake(attempt)).then((refusal) =>
        next(refusal ? Object.assign(new Error(refusal.message), { data: refusal }) : undefined),
      );
    });
    io.on('connection', (socket) => {
      socket.on('chat:send', (payload, ack) => {
        this.sends.push(payload);
        this.onSend(payload, ack, socket);
      });
      socket.on('chat:resume', ({ channels }, ack) => {
        const replay = Object.entries(channels).map(([conversationId, after]) => {
          const log = this.#messages.get(conversationId) ?? [];
          return { conversationId, items: log.filter((m) => m.seq > after), lastSeq: log.length, resyncRequired: false };
        });
        ack({ ok: true, channels: replay });
      });
    });
  }

  static async start(): Promise<TestServer> {
    const http = createServer();
    const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, { transports: ['websocket'] });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return new TestServer(io, `http://127.0.0.1:${(http.address() as AddressInfo).port}`);
  }

  /** Stores a message (once per channel and nonce) and returns it. */
  store(payload: ChatSendRequest): ChatMessage {
    const log = this.#messages.get(payload.conversationId) ?? [];
    this.#messages.set(payload.conversationId, log);
    const stored = log.find((message) => message.nonce === payload.nonce);
    if (stored) return stored;
    const message: ChatMessage = {
      id: crypto.randomUUID(),
      conversationId: payload.conversationId,
      seq: log.length + 1,
      author: null,
      text: payload.text ?? '',
      nonce: payload.nonce ?? null,
      replyToMessageId: null,
      attachments: [],
      reactions: [],
      createdAt: new Date().toISOString(),
      editedAt: null,
      deleted: false,
    };
    log.push(message);
    return message;
  }

  /** Connected sockets right now. */
  sockets(): ServerSocket[] {
    return [...this.io.of('/').sockets.values()];
  }

  /** Drops every connection under Socket.IO, as a dying pod would: clients see a transport close. */
  dropConnections(): void {
    for (const socket of this.sockets()) socket.conn.close();
  }

  async stop(): Promise<void> {
    await this.io.close();
  }
}
