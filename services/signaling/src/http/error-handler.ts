import { httpStatusOf, type ErrorPayload } from '@parley/protocol';
import type { NextFunction, Request, Response } from 'express';
import { AppError, reportError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** body-parser reports its failures with a `type`; these are the client's fault. */
function fromBodyParser(error: unknown): AppError | undefined {
  const type = (error as { type?: unknown })?.type;
  if (type === 'entity.parse.failed') return new AppError('invalid_json');
  if (type === 'entity.too.large') return new AppError('payload_too_large');
  if (typeof type === 'string' && (error as { status?: number }).status === 415) {
    return new AppError('invalid_payload', (error as Error).message);
  }
  return undefined;
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
    const payload = reportError(log, fromBodyParser(error) ?? error, { reqId: req.id });
    if (res.headersSent) return;
    sendError(res, payload);
  };
}
