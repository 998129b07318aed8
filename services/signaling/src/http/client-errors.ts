import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorPayload } from '@parley/protocol';
import { httpStatusOf } from '@parley/protocol';
import type { Logger } from '../logger.ts';

/**
 * Answers what Node's HTTP parser refuses before any route runs (a request
 * that is not valid HTTP, bytes left over after a body shorter than its
 * Content-Length, headers too large) with the usual `{ error }` body instead
 * of Node's bare `400 Bad Request`, and closes the connection.
 */
export function answerClientErrors(server: http.Server, logger: Logger): void {
  const log = logger.child({ module: 'http' });
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    log.warn({ code: error.code, reason: error.message }, 'malformed HTTP request');
    const payload: ErrorPayload =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? { code: 'payload_too_large', message: 'The request headers are too large' }
        : { code: 'invalid_payload', message: 'The request is not valid HTTP' };
    const body = JSON.stringify({ error: payload });
    const status = httpStatusOf(payload.code);
    socket.end(
      `HTTP/1.1 ${status} ${status === 413 ? 'Payload Too Large' : 'Bad Request'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
