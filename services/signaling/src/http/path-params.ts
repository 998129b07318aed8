import type { ErrorCode } from '@parley/protocol';
import { AppError } from '../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id; a malformed one answers like an unknown one, with `notFound`. */
export function pathId(value: string | string[] | undefined, notFound: ErrorCode): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw new AppError(notFound);
  return value.toLowerCase();
}
