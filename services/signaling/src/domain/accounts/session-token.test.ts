import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { hashSessionToken, looksLikeSessionToken, newSessionToken } from './session-token.ts';

it('makes 64-hex-character tokens that do not repeat', () => {
  const tokens = new Set(Array.from({ length: 1000 }, newSessionToken));
  expect(tokens.size).toBe(1000);
  for (const token of tokens) expect(looksLikeSessionToken(token)).toBe(true);
});

it('stores the SHA-256 of the token, never the token', () => {
  const token = newSessionToken();
  expect(hashSessionToken(token)).toBe(createHash('sha256').update(token).digest('hex'));
  expect(hashSessionToken(token)).not.toBe(token);
});

it.each(['', 'f'.repeat(63), 'F'.repeat(64), 'g'.repeat(64), `${'a'.repeat(64)}\n`, 'eyJhbGciOiJIUzI1NiJ9.e30.x'])(
  'does not take %j for a session token',
  (candidate) => {
    expect(looksLikeSessionToken(candidate)).toBe(false);
  },
);
