import { plainDataProblem, type Page } from '@parley/protocol';
import type { z } from 'zod';
import { AppError } from '../errors.ts';

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
  // A cursor is client input: a forged one must not smuggle NUL or a lone surrogate into a query.
  const parsed = plainDataProblem(value, 4) ? undefined : schema.safeParse(value);
  if (parsed?.success) return parsed.data;
  throw new AppError('invalid_payload', 'cursor is not valid', { details: [{ path: 'cursor', message: 'is not valid' }] });
}

/**
 * A page from a query that asked for `limit + 1` rows: the extra row only
 * says that a next page exists, which starts after `positionOf(last item)`.
 */
export function pageOf<R, T>(rows: R[], limit: number, positionOf: (row: R) => object, toItem: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(toItem),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}
