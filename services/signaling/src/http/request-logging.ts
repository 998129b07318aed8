import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger.ts';

const REQUEST_ID = /^[\w.-]{1,64}$/;
const QUIET_PATHS = new Set(['/health', '/ready', '/metrics']);

/**
 * One log line per request with a request id: the caller's `X-Request-Id`
 * when it is well-formed, else a new one, echoed in the response. Only the
 * method, path (no query string) and status are logged: never headers, so
 * never a bearer token.
 */
export function requestLogging(logger: Logger) {
  return pinoHttp({
    logger: logger.child({ module: 'http' }),
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split('?')[0],
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    // A request the client gave up on (its body cut off, the connection closed) is not a server fault.
    customLogLevel: (_req, res, error) => (res.statusCode >= 500 ? 'error' : error || res.statusCode >= 400 ? 'warn' : 'info'),
    customErrorObject: (_req, res, error, value: Record<string, unknown>) =>
      res.statusCode >= 500 ? value : { ...value, err: { type: error.name, message: error.message } },
    autoLogging: { ignore: (req) => QUIET_PATHS.has((req.url ?? '').split('?')[0] ?? '') },
  });
}
