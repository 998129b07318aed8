import type { Socket } from 'socket.io-client';

/** Called once per operation: undefined on success, else an error code (`ack_timeout` when no acknowledgement came). */
export type VoiceDone = (error: string | undefined) => void;

/**
 * How a voice client takes a seat and gives it back on one kind of server, so
 * the same request → leave cycle runs against Parley and against the bare relay.
 */
export interface VoiceWire {
  name: string;
  /** Asks for a seat in `channelId`; `done` when acknowledged. */
  request(socket: Socket, channelId: string, done: VoiceDone, ackTimeoutMs: number): void;
  /** Gives the seat back; `done` when acknowledged. */
  leave(socket: Socket, done: VoiceDone, ackTimeoutMs: number): void;
}

type AckBody = { ok?: boolean; join_token?: unknown; error?: { code?: string } } | undefined;

function emitWithTimeout(socket: Socket, event: string, payload: unknown, timeoutMs: number, done: (body: AckBody | 'ack_timeout') => void): void {
  socket.timeout(timeoutMs).emit(event, payload, (error: Error | null, response: unknown) => done(error ? 'ack_timeout' : (response as AckBody)));
}

function failureOf(body: AckBody | 'ack_timeout'): string | undefined {
  if (body === 'ack_timeout') return body;
  return body?.ok ? undefined : (body?.error?.code ?? 'bad_ack');
}

/**
 * Parley: `voice:room:request <channelId>`, acknowledged with the grant (the
 * `voice:room:granted` event goes out just before the ack); `voice:leave {}`.
 * A success without a join token counts as `no_grant`.
 */
export const parleyVoiceWire: VoiceWire = {
  name: 'parley',
  request(socket, channelId, done, ackTimeoutMs) {
    emitWithTimeout(socket, 'voice:room:request', channelId, ackTimeoutMs, (body) => {
      const failure = failureOf(body);
      if (failure) return done(failure);
      done(typeof (body as Exclude<AckBody, undefined>).join_token === 'string' ? undefined : 'no_grant');
    });
  },
  leave(socket, done, ackTimeoutMs) {
    emitWithTimeout(socket, 'voice:leave', {}, ackTimeoutMs, (body) => done(failureOf(body)));
  },
};

/**
 * About the size of the `voice:joined` / `voice:left` payloads Parley
 * broadcasts (a VoiceParticipant is ~250 bytes of JSON).
 */
const ANNOUNCEMENT = { text: 'x'.repeat(240) };

/**
 * The bare relay (`bench/baseline/bare-relay.ts`). `echo`: both steps are a
 * bare acknowledged round trip. `broadcast`: both steps are `send`, relayed
 * to the client's room (its community) like Parley's join and leave
 * announcements, then acknowledged.
 */
export function relayVoiceWire(mode: 'echo' | 'broadcast'): VoiceWire {
  const event = mode === 'echo' ? 'echo' : 'send';
  const payload = mode === 'echo' ? {} : ANNOUNCEMENT;
  const step = (socket: Socket, done: VoiceDone, ackTimeoutMs: number) =>
    emitWithTimeout(socket, event, payload, ackTimeoutMs, (body) => done(failureOf(body)));
  return {
    name: `bare relay ${mode}`,
    request: (socket, _channelId, done, ackTimeoutMs) => step(socket, done, ackTimeoutMs),
    leave: step,
  };
}
