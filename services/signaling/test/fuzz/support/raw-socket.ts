import { toWireJson } from './wire-json.ts';

/** What became of one emitted event. */
export type EmitOutcome =
  | { kind: 'ack'; response: unknown }
  /** Sent without an acknowledgement id: nothing comes back. */
  | { kind: 'sent' }
  | { kind: 'closed'; reason: string }
  | { kind: 'timeout' };

/** One server→client event as it arrived: its name and its raw JSON text (never parsed: it may nest 10,000 deep). */
export interface RawEvent {
  name: string;
  text: string;
}

const EVENT_NAME = /^\["((?:[^"\\]|\\.)*)"/;

/**
 * A Socket.IO v4 client over the WebSocket transport, speaking the wire
 * protocol itself so that a test controls every byte: payloads socket.io-client
 * cannot encode (nesting past its stack), any number of arguments, with or
 * without an acknowledgement id, binary attachments anywhere.
 */
export class RawSocket {
  readonly #ws: WebSocket;
  readonly #acks = new Map<number, (outcome: EmitOutcome) => void>();
  readonly #listeners = new Set<(event: RawEvent) => void>();
  readonly #closeListeners = new Set<(reason: string) => void>();
  #nextId = 0;
  #closedReason: string | undefined;
  /** A binary event waiting for its attachments: those frames are skipped. */
  #pendingAttachments = 0;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  /** Connects to a pod with this handshake `auth`; rejects with the server's `connect_error` data. */
  static connect(baseUrl: string, auth: Record<string, unknown>, timeoutMs = 10_000): Promise<RawSocket> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    ws.binaryType = 'arraybuffer';
    const socket = new RawSocket(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`no Socket.IO connection within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(socket);
      };
      ws.addEventListener('message', (message) => socket.#receive(message.data, auth, settle));
      ws.addEventListener('close', (event) => {
        socket.#close(`websocket closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`);
        settle(new Error(`closed before connecting: ${socket.#closedReason}`));
      });
      ws.addEventListener('error', () => settle(new Error('websocket error')));
    });
  }

  get open(): boolean {
    return this.#closedReason === undefined;
  }

  get closedReason(): string | undefined {
    return this.#closedReason;
  }

  /** Emits `event` with `args`; with `ack`, resolves with the acknowledgement (or how it failed to come). */
  emit(event: string, args: unknown[], options: { ack: boolean; timeoutMs?: number }): Promise<EmitOutcome> {
    if (!this.open) return Promise.resolve({ kind: 'closed', reason: this.#closedReason ?? 'closed' });
    const { text, attachments } = toWireJson([event, ...args]);
    const id = options.ack ? this.#nextId++ : undefined;
    const header = attachments.length > 0 ? `5${attachments.length}-` : '2';
    const outcome = new Promise<EmitOutcome>((resolve) => {
      if (id === undefined) return resolve({ kind: 'sent' });
      const timer = setTimeout(() => {
        this.#acks.delete(id);
        resolve({ kind: 'timeout' });
      }, options.timeoutMs ?? 10_000);
      this.#acks.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
    });
    this.#ws.send(`4${header}${id ?? ''}${text}`);
    for (const attachment of attachments) this.#ws.send(attachment);
    return outcome;
  }

  /** Calls `listener` with every event the server sends; returns the unsubscribe function. */
  onEvent(listener: (event: RawEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the first event matching `match`, or rejects after `timeoutMs` (or when the socket closes). */
  waitFor(match: (event: RawEvent) => boolean, timeoutMs: number, what: string): Promise<RawEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${what}: nothing within ${timeoutMs} ms`));
      }, timeoutMs);
      const onClose = (reason: string) => {
        clearTimeout(timer);
        off();
        reject(new Error(`${what}: the socket closed (${reason})`));
      };
      const stopListening = this.onEvent((event) => {
        if (!match(event)) return;
        clearTimeout(timer);
        off();
        resolve(event);
      });
      const off = () => {
        stopListening();
        this.#closeListeners.delete(onClose);
      };
      if (!this.open) return onClose(this.#closedReason ?? 'closed');
      this.#closeListeners.add(onClose);
    });
  }

  close(): void {
    this.#close('closed by the test');
    this.#ws.close();
  }

  #close(reason: string): void {
    if (this.#closedReason !== undefined) return;
    this.#closedReason = reason;
    for (const settle of this.#acks.values()) settle({ kind: 'closed', reason });
    this.#acks.clear();
    for (const listener of [...this.#closeListeners]) listener(reason);
  }

  #receive(data: unknown, auth: Record<string, unknown>, connected: (error?: Error) => void): void {
    if (typeof data !== 'string') {
      if (this.#pendingAttachments > 0) this.#pendingAttachments--;
      return;
    }
    const engineType = data[0];
    if (engineType === '0') return this.#ws.send(`40${JSON.stringify(auth)}`);
    if (engineType === '2') return this.#ws.send('3');
    if (engineType === '1') return this.#close('engine.io close packet');
    if (engineType !== '4') return;
    const packet = data.slice(1);
    const type = packet[0];
    if (type === '0') return connected();
    if (type === '4') {
      const payload = JSON.parse(packet.slice(1)) as { message?: string; data?: unknown };
      return connected(Object.assign(new Error(payload.message ?? 'connect_error'), { data: payload.data }));
    }
    if (type === '1') return this.#close('server disconnect packet');
    const binary = type === '5' || type === '6' ? /^.(\d+)-/.exec(packet) : null;
    if (binary) this.#pendingAttachments += Number(binary[1]);
    const rest = binary ? packet.slice(binary[0].length) : packet.slice(1);
    const idMatch = /^\d+/.exec(rest);
    const body = idMatch ? rest.slice(idMatch[0].length) : rest;
    if (type === '3' || type === '6') {
      const settle = this.#acks.get(Number(idMatch?.[0]));
      this.#acks.delete(Number(idMatch?.[0]));
      settle?.({ kind: 'ack', response: (JSON.parse(body) as unknown[])[0] });
      return;
    }
    if (type === '2' || type === '5') {
      const name = EVENT_NAME.exec(body)?.[1];
      if (name === undefined) return;
      for (const listener of [...this.#listeners]) listener({ name, text: body });
    }
  }
}
