import { z } from 'zod';

/**
 * True when `value` is text Parley can store and relay unchanged: well-formed
 * UTF-16 (a lone surrogate cannot be encoded as UTF-8, and would be silently
 * replaced by U+FFFD on its way to the database, so that two different
 * values compare equal) and without NUL (Postgres `text` cannot hold it).
 */
export function isCleanText(value: string): boolean {
  return value.isWellFormed() && !value.includes('\0');
}

export const CLEAN_TEXT_MESSAGE = 'must be well-formed Unicode without NUL characters';

/**
 * A string schema that refuses what `isCleanText` refuses, before any other
 * check. Every string Parley accepts is built on it: it is refused, never
 * rewritten.
 */
export function text() {
  return z.string().refine(isCleanText, { message: CLEAN_TEXT_MESSAGE, abort: true });
}
