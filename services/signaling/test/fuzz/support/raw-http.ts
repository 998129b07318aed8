import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawRequest {
  method: string;
  /** Sent exactly as given: percent-encoding and all. */
  target: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  /** Send only this many bytes of the body, then close the connection (a client that went away mid-upload). */
  abortAfterBytes?: number;
}

function decodeChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * One HTTP/1.1 exchange over a plain TCP connection, so that nothing is
 * normalised on the way: malformed percent-encoding, lying headers, bodies
 * cut short. Resolves with the response, or undefined for an aborted upload.
 */
export function rawHttp(baseUrl: string, request: RawRequest, timeoutMs = 10_000): Promise<RawResponse | undefined> {
  const url = new URL(baseUrl);
  const body = request.body ?? Buffer.alloc(0);
  const names = new Set(request.headers.map(([name]) => name.toLowerCase()));
  const headers = [
    ['Host', url.host],
    ['Connection', 'close'],
    // A chunked body (its Transfer-Encoding named by the caller) carries no length.
    ...(names.has('content-length') || names.has('transfer-encoding') || (body.length === 0 && request.method === 'GET')
      ? []
      : [['Content-Length', String(body.length)]]),
    ...request.headers,
  ];
  const head = `${request.method} ${request.target} HTTP/1.1\r\n${headers.map(([name, value]) => `${name}: ${value}`).join('\r\n')}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no HTTP response within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(Buffer.from(head, 'latin1'));
      if (request.abortAfterBytes !== undefined) {
        socket.write(body.subarray(0, request.abortAfterBytes), () => {
          clearTimeout(timer);
          socket.destroy();
          resolve(undefined);
        });
        return;
      }
      socket.write(body);
    });
    /** The response, once all of it has arrived (the server may keep the connection open to drain an unread body). */
    const complete = (final: boolean): RawResponse | undefined => {
      const raw = Buffer.concat(received);
      const split = raw.indexOf('\r\n\r\n');
      if (split < 0) return undefined;
      const [statusLine, ...headerLines] = raw.subarray(0, split).toString('latin1').split('\r\n');
      const responseHeaders = Object.fromEntries(
        headerLines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      const rest = raw.subarray(split + 4);
      const length = responseHeaders['content-length'];
      const chunked = responseHeaders['transfer-encoding'] === 'chunked';
      if (!final && chunked && !rest.includes('0\r\n\r\n')) return undefined;
      if (!final && !chunked && (length === undefined || rest.length < Number(length))) return undefined;
      return {
        status: Number(statusLine?.split(' ')[1]),
        headers: responseHeaders,
        body: chunked ? decodeChunked(rest) : length === undefined ? rest : rest.subarray(0, Number(length)),
      };
    };
    const settle = (final: boolean) => {
      const response = complete(final);
      if (!response) {
        if (final) {
          clearTimeout(timer);
          reject(new Error(`incomplete HTTP response: ${Buffer.concat(received).toString('latin1').slice(0, 200) || '(nothing)'}`));
        }
        return;
      }
      clearTimeout(timer);
      socket.destroy();
      resolve(response);
    };
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      settle(false);
    });
    socket.on('error', () => settle(true));
    socket.on('end', () => settle(true));
  });
}
