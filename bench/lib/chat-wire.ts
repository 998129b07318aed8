import type { Socket } from 'socket.io-client';

/**
 * How a chat client sends and receives on one kind of server, so the same load
 * runs against Parley and against the bare relay.
 */
export interface ChatWire {
  name: string;
  /** Emits one message to `room`; `onAck` gets undefined on success, else an error code. */
  send(socket: Socket, room: string, text: string, onAck: (error: string | undefined) => void, ackTimeoutMs?: number): void;
  /** Calls `listener` with the text of every message the socket receives. */
  onReceive(socket: Socket, listener: (text: unknown) => void): void;
}

/** A connected client and the room it talks in; `peers` is how many other clients hear what it sends. */
export interface ChatClient {
  socket: Socket;
  room: string;
  peers: number;
}

type Ack = (error: Error | null, response: unknown) => void;

function emitWithAck(socket: Socket, event: string, payload: unknown, ack: Ack, timeoutMs: number | undefined): void {
  if (timeoutMs === undefined) socket.emit(event, payload, (response: unknown) => ack(null, response));
  else socket.timeout(timeoutMs).emit(event, payload, ack);
}

/** Parley: `chat:send { conversationId, text }`, acknowledged once committed; others get `chat:new`. */
export const parleyWire: ChatWire = {
  name: 'parley',
  send(socket, room, text, onAck, ackTimeoutMs) {
    emitWithAck(
      socket,
      'chat:send',
      { conversationId: room, text },
      (error, response) => {
        if (error) return onAck('ack_timeout');
        const body = response as { ok?: boolean; error?: { code?: string } } | undefined;
        onAck(body?.ok ? undefined : (body?.error?.code ?? 'bad_ack'));
      },
      ackTimeoutMs,
    );
  },
  onReceive(socket, listener) {
    socket.on('chat:new', (message: { text?: unknown } | undefined) => listener(message?.text));
  },
};

/** The bare relay (`bench/baseline/bare-relay.ts`): `send { text }`, acknowledged after the broadcast; others get `message`. */
export const relayWire: ChatWire = {
  name: 'bare relay',
  send(socket, _room, text, onAck, ackTimeoutMs) {
    emitWithAck(
      socket,
      'send',
      { text },
      (error, response) => onAck(error ? 'ack_timeout' : (response as { ok?: boolean } | undefined)?.ok ? undefined : 'bad_ack'),
      ackTimeoutMs,
    );
  },
  onReceive(socket, listener) {
    socket.on('message', (payload: { text?: unknown } | undefined) => listener(payload?.text));
  },
};
