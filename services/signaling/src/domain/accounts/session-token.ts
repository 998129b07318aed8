import { createHash, randomBytes } from 'node:crypto';

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** A new session token: 32 random bytes as 64 hex characters. */
export function newSessionToken(): string {
  return randomBytes(32).toString('hex');
}

/** What is stored in place of the token: its SHA-256, hex. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function looksLikeSessionToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}
