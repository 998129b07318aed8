import { limits, plainDataProblem } from '@parley/protocol';
import type { z } from 'zod';
import { AppError } from './errors.ts';

/**
 * Parses untrusted input or throws `invalid_payload` listing every problem.
 * Before its schema sees it, any input must be plain data (no binary, no
 * `__proto__` key), nested at most `limits.payloadDepth.max` deep, with only
 * clean text in its strings and keys: whatever a schema forgets, nothing
 * malformed reaches a handler, the database or another pod.
 */
export function parsePayload<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const problem = plainDataProblem(input, limits.payloadDepth.max);
  if (problem) throw invalidPayload([{ path: problem.path.join('.'), message: problem.message }]);
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw invalidPayload(
    result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
  );
}

function invalidPayload(details: Array<{ path: string; message: string }>): AppError {
  const summary = details.map((detail) => (detail.path ? `${detail.path}: ${detail.message}` : detail.message)).join('; ');
  return new AppError('invalid_payload', `Invalid payload: ${summary}`, { details });
}
