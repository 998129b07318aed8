import type { z } from 'zod';
import { AppError } from '../../errors.ts';

/** Opaque page cursors: base64url JSON, so clients cannot depend on their shape. */
export function encodeCursor(position: object): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** Undefined for no cursor; throws `invalid_payload` for one that does not parse as `schema`. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, schema: S): z.output<S> | undefined {
  if (cursor === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new AppError('invalid_payload', 'cursor is not valid', { details: [{ path: 'cursor', message: 'is not valid' }] });
}
