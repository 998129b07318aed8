import { httpStatusOf, type ErrorPayload } from '@parley/protocol';
import type { NextFunction, Request, Response } from 'express';
import { AppError, reportError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/**
 * Errors raised by express, its router and body-parser for a malformed
 * request (bad percent-encoding in a path, a body that does not inflate, an
 * unsupported encoding or charset, a body cut off): http-errors with a 4xx
 * status. They are the client's fault: answered with a catalogue code.
 */
function fromMalformedRequest(error: unknown): AppError | undefined {
  if (error instanceof AppError || !(error instanceof Error)) return undefined;
  const { status, type } = error as { status?: unknown; type?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  if (type === 'entity.parse.failed') return new AppError('invalid_json');
  if (status === 413) return new AppError('payload_too_large');
  if (error instanceof URIError) return new AppError('invalid_payload', 'The request path is not validly percent-encoded');
  return new AppError('invalid_payload', describeMalformed(type, error.message));
}

function describeMalformed(type: unknown, message: string): string {
  if (type === 'request.aborted') return 'The request body was cut off';
  if (type === 'encoding.unsupported') return 'The request body’s Content-Encoding is not supported';
  if (type === 'charset.unsupported') return 'The request body’s charset is not supported';
  return `The request is malformed: ${message}`;
}

export function sendError(res: Response, payload: ErrorPayload): void {
  if (payload.retryAfterMs !== undefined) res.setHeader('Retry-After', String(Math.ceil(payload.retryAfterMs / 1000)));
  res.status(httpStatusOf(payload.code)).json({ error: payload });
}

export function notFound(_req: Request, res: Response): void {
  sendError(res, new AppError('not_found').toPayload());
}

/** Maps any error to `{ error: { code, message } }` and its status; logs bugs in full. */
export function errorHandler(logger: Logger) {
  const log = logger.child({ module: 'http' });
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const payload = reportError(log, fromMalformedRequest(error) ?? error, { reqId: req.id });
    if (res.headersSent || res.destroyed) return;
    sendError(res, payload);
  };
}
