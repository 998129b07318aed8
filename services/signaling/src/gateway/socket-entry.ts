import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { httpStatusOf, type ErrorPayload } from '@parley/protocol';
import { reportError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ConnectionAdmission } from './connection-admission.ts';

/**
 * Puts `admission` in front of the handlers Socket.IO registered on the HTTP
 * server when it was attached: a refused handshake (long-polling request or
 * WebSocket upgrade) is answered here with its catalogue status, `Retry-After`
 * and `{ error }` body, before Engine.IO does any work. Other paths are
 * passed on untouched.
 */
export function guardSocketIoEntry(server: http.Server, options: { path: string; admission: ConnectionAdmission; logger: Logger }): void {
  const log = options.logger.child({ module: 'gateway.admission' });
  const isSocketIo = (request: IncomingMessage) => (request.url ?? '').startsWith(options.path);
  const decide = async (request: IncomingMessage): Promise<ErrorPayload | undefined> => {
    try {
      return (await options.admission.refusalOf(request))?.toPayload();
    } catch (error) {
      return reportError(log, error, { path: options.path });
    }
  };

  const requestHandlers = server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const passOn = () => requestHandlers.forEach((handler) => handler.call(server, request, response));
    if (!isSocketIo(request)) return passOn();
    void decide(request).then((refusal) => (refusal ? refuseRequest(response, refusal) : passOn()));
  });

  const upgradeHandlers = server.listeners('upgrade') as Array<(request: IncomingMessage, socket: Duplex, head: Buffer) => void>;
  server.removeAllListeners('upgrade');
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const passOn = () => upgradeHandlers.forEach((handler) => handler.call(server, request, socket, head));
    if (!isSocketIo(request)) return passOn();
    socket.on('error', ignoreError);
    void decide(request).then((refusal) => (refusal ? refuseUpgrade(socket, refusal) : passOn()));
  });
}

/** Shared by every upgrade: a closure made inside the handler would keep its request alive as long as the connection. */
function ignoreError(): void {}

function refusalHeaders(refusal: ErrorPayload, body: string): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    ...(refusal.retryAfterMs === undefined ? {} : { 'Retry-After': String(Math.ceil(refusal.retryAfterMs / 1000)) }),
  };
}

function refuseRequest(response: ServerResponse, refusal: ErrorPayload): void {
  const body = JSON.stringify({ error: refusal });
  response.writeHead(httpStatusOf(refusal.code), refusalHeaders(refusal, body)).end(body);
}

function refuseUpgrade(socket: Duplex, refusal: ErrorPayload): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ error: refusal });
  const status = httpStatusOf(refusal.code);
  const headers = Object.entries({ ...refusalHeaders(refusal, body), Connection: 'close' }).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${headers.join('')}\r\n${body}`);
}
