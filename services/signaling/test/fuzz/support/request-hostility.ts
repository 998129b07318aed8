import { gzipSync } from 'node:zlib';

/** Path segments sent as they are (already percent-encoded, or not at all). */
export const hostileSegments = [
  '%ZZ',
  '%E0%A4%A',
  '%00',
  '%',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  '%C0%AF',
  '%FF',
  '%ED%A0%80',
  'a'.repeat(10_000),
  '00000000-0000-0000-0000-000000000000%00',
  '00000000-0000-4000-8000-00000000000A',
  '%20',
  'null',
  '-1',
  '%F0%9F%98%80',
  '%uD800',
] as const;

/** The first of them, tried on every parameter of every route. */
export const EXHAUSTIVE_SEGMENTS = 7;

/** Query strings appended to a route's own. */
export const hostileQueries = [
  'limit=%ZZ',
  '%ZZ=1',
  'limit=1&limit=2',
  'limit[]=1',
  'cursor[a]=b',
  'q=%00',
  'q=%ED%A0%80',
  'cursor=%00',
  'cursor=%E0%A4%A',
  'limit=1e400',
  'limit=-1',
  'limit=NaN',
  `before=${'x'.repeat(5000)}`,
  '__proto__=x&constructor[prototype][polluted]=1',
  'status=%00',
  'before=2026-13-45T99:99:99Z',
  'after=1&before=2',
  'limit=0x10',
] as const;

export type AuthVariant = 'valid' | 'none' | 'unknown token' | 'Basic scheme' | 'huge token' | 'two tokens';

export function authHeader(variant: AuthVariant, token: string | undefined): Array<[string, string]> {
  switch (variant) {
    case 'valid':
      return token ? [['Authorization', `Bearer ${token}`]] : [];
    case 'none':
      return [];
    case 'unknown token':
      return [['Authorization', `Bearer ${'ab'.repeat(32)}`]];
    case 'Basic scheme':
      return [['Authorization', 'Basic Zm9vOmJhcg==']];
    case 'huge token':
      return [['Authorization', `Bearer ${'a'.repeat(9000)}`]];
    case 'two tokens':
      return [['Authorization', `Bearer ${token ?? 'x'} ${token ?? 'y'}`]];
  }
}

export interface Encoded {
  headers: Array<[string, string]>;
  body?: Buffer;
  /** Close the connection after this many body bytes. */
  abortAfterBytes?: number;
  /** The server reads only part of the body: its Content-Length is shorter than it. */
  truncated?: boolean;
}

/** Ways to send a JSON body, honest and not. Each takes the JSON text (absent for a route without a body). */
export const transports: Record<string, (json: string | undefined) => Encoded> = {
  json: (json) => (json === undefined ? { headers: [] } : { headers: [['Content-Type', 'application/json']], body: Buffer.from(json) }),
  'real gzip': (json) => ({
    headers: [['Content-Type', 'application/json'], ['Content-Encoding', 'gzip']],
    body: gzipSync(Buffer.from(json ?? '{}')),
  }),
  'Content-Encoding: gzip on a plain body': (json) => ({
    headers: [['Content-Type', 'application/json'], ['Content-Encoding', 'gzip']],
    body: Buffer.from(json ?? '{}'),
  }),
  'Content-Encoding: deflate on a plain body': (json) => ({
    headers: [['Content-Type', 'application/json'], ['Content-Encoding', 'deflate']],
    body: Buffer.from(json ?? '{}'),
  }),
  'Content-Encoding: br on a plain body': (json) => ({
    headers: [['Content-Type', 'application/json'], ['Content-Encoding', 'br']],
    body: Buffer.from(json ?? '{}'),
  }),
  'Content-Encoding: x-fuzz': (json) => ({
    headers: [['Content-Type', 'application/json'], ['Content-Encoding', 'x-fuzz']],
    body: Buffer.from(json ?? '{}'),
  }),
  'Content-Type: text/plain': (json) => ({ headers: [['Content-Type', 'text/plain']], body: Buffer.from(json ?? '{}') }),
  'Content-Type: form with JSON': (json) => ({
    headers: [['Content-Type', 'application/x-www-form-urlencoded']],
    body: Buffer.from(json ?? '{}'),
  }),
  'charset=utf-16 on UTF-8': (json) => ({ headers: [['Content-Type', 'application/json; charset=utf-16']], body: Buffer.from(json ?? '{}') }),
  'charset=x-fuzz': (json) => ({ headers: [['Content-Type', 'application/json; charset=x-fuzz']], body: Buffer.from(json ?? '{}') }),
  'no Content-Type': (json) => ({ headers: [], body: Buffer.from(json ?? '{}') }),
  'invalid UTF-8 bytes': (json) => {
    const text = Buffer.from(json ?? '{"x":"y"}');
    const quote = text.indexOf('"', text.indexOf(':'));
    const at = quote > 0 ? quote + 1 : 1;
    return { headers: [['Content-Type', 'application/json']], body: Buffer.concat([text.subarray(0, at), Buffer.from([0xff, 0xc0, 0xed, 0xa0, 0x80]), text.subarray(at)]) };
  },
  'truncated JSON': (json) => ({
    headers: [['Content-Type', 'application/json']],
    body: Buffer.from((json ?? '{"x":1}').slice(0, Math.max(1, Math.floor((json ?? '{"x":1}').length / 2)))),
  }),
  'empty JSON body': () => ({ headers: [['Content-Type', 'application/json']], body: Buffer.alloc(0) }),
  'Content-Length shorter than the body': (json) => ({
    headers: [['Content-Type', 'application/json'], ['Content-Length', String(Math.max(1, Math.floor((json ?? '{}').length / 3)))]],
    body: Buffer.from(json ?? '{}'),
  }),
  'body past the limit (200 KiB)': () => ({
    headers: [['Content-Type', 'application/json']],
    body: Buffer.from(JSON.stringify({ name: 'x'.repeat(200 * 1024) })),
  }),
  'aborted half-way': (json) => {
    const body = Buffer.from(json ?? JSON.stringify({ name: 'y'.repeat(4096) }));
    return { headers: [['Content-Type', 'application/json']], body, abortAfterBytes: Math.floor(body.length / 2) };
  },
};

export const transportNames = Object.keys(transports);

/**
 * A body declared far past the limit, of which only a few bytes come: the
 * answer must be an immediate 413, not a wait for bytes that never arrive.
 * Tried once (see the test), not per route: while it hangs each try costs its timeout.
 */
export const hugeDeclaredLength: Encoded = {
  headers: [['Content-Type', 'application/json'], ['Content-Length', String(10 ** 12)]],
  body: Buffer.from('{"a":'),
};
