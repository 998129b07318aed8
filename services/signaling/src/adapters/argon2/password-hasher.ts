import argon2 from 'argon2';
import type { PasswordHasher } from '../../domain/accounts/password-hasher.ts';
import { verifyLegacyHash } from './legacy-hashes.ts';

/** OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane. */
const ARGON2ID = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * New hashes are argon2id. Hashes imported from the seed systems (bcrypt,
 * unsalted SHA-256) still verify, and report `needsRehash`.
 */
export class Argon2PasswordHasher implements PasswordHasher {
  hash(password: string): Promise<string> {
    return argon2.hash(password, ARGON2ID);
  }

  async verify(hash: string, password: string): Promise<boolean> {
    if (!hash.startsWith('$argon2')) return verifyLegacyHash(hash, password);
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false; // a malformed stored hash never matches
    }
  }

  needsRehash(hash: string): boolean {
    if (!hash.startsWith('$argon2id$')) return true;
    try {
      return argon2.needsRehash(hash, ARGON2ID);
    } catch {
      return true;
    }
  }
}
