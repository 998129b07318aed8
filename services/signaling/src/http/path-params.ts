import { isUuid, type ErrorCode } from '@parley/protocol';
import { AppError } from '../errors.ts';

/**
 * The one reading of an id in a path: a malformed id is answered like an
 * unknown one, `404 notFound`, on every route (no error tells a caller
 * whether a well-formed id exists that a malformed one could not).
 */
export function pathId(value: string | string[] | undefined, notFound: ErrorCode): string {
  if (!isUuid(value)) throw new AppError(notFound);
  return value.toLowerCase();
}
