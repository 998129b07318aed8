import type { z } from 'zod';
import { AppError } from './errors.ts';

/** Parses untrusted input or throws `invalid_payload` listing every problem. */
export function parsePayload<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const summary = details.map((detail) => (detail.path ? `${detail.path}: ${detail.message}` : detail.message)).join('; ');
  throw new AppError('invalid_payload', `Invalid payload: ${summary}`, { details });
}
