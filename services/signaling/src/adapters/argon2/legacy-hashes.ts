import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
/** The MetoYou seed's legacy form: SHA-256 of the password, hex, unsalted (optionally written `sha256:<hex>`). */
const SHA256 = /^(?:sha256:)?([0-9a-f]{64})$/i;

const ARGON2 = /^\$argon2(?:id|i|d)\$v=\d+\$[a-z]=\d+(?:,[a-z]=\d+)*\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

/** True for every stored form Parley can verify: argon2 (PHC), bcrypt, legacy SHA-256. */
export function isKnownPasswordHash(hash: string): boolean {
  return ARGON2.test(hash) || BCRYPT.test(hash) || SHA256.test(hash);
}

/**
 * Checks a password against a hash imported from a seed system: bcrypt
 * (`$2a$`, `$2b$`, `$2y$`) or legacy SHA-256. Anything else never matches.
 * Callers upgrade the hash to argon2id after a match.
 */
export async function verifyLegacyHash(hash: string, password: string): Promise<boolean> {
  if (BCRYPT.test(hash)) return bcrypt.compare(password, hash);
  const hex = SHA256.exec(hash)?.[1];
  if (hex) {
    const expected = Buffer.from(hex.toLowerCase(), 'hex');
    const actual = createHash('sha256').update(password, 'utf8').digest();
    return timingSafeEqual(expected, actual);
  }
  return false;
}
