import { isUniqueViolation } from '@parley/db';

/**
 * A write refused because it would duplicate a unique value (a role's name,
 * a message's nonce): repositories throw it so that services decide what it
 * means without knowing how the database reports it.
 */
export class UniqueConflict extends Error {
  constructor(what: string, options: { cause: unknown }) {
    super(`${what} already exists`, options);
    this.name = 'UniqueConflict';
  }
}

/** Runs a write, turning the database's unique violation into `UniqueConflict`. */
export async function unique<T>(what: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (isUniqueViolation(error)) throw new UniqueConflict(what, { cause: error });
    throw error;
  }
}
