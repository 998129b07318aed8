import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { isKnownPasswordHash } from './legacy-hashes.ts';
import { Argon2PasswordHasher } from './password-hasher.ts';

const hasher = new Argon2PasswordHasher();
const password = 'correct horse battery';

describe('Argon2PasswordHasher', () => {
  it('hashes with argon2id at OWASP parameters and needs no rehash', async () => {
    const hash = await hasher.hash(password);
    expect(isKnownPasswordHash(hash)).toBe(true);
    const parameters = /^\$argon2id\$v=19\$([^$]+)\$/.exec(hash)?.[1]?.split(',').sort();
    expect(parameters).toEqual(['m=19456', 'p=1', 't=2']);
    expect(await hasher.verify(hash, password)).toBe(true);
    expect(await hasher.verify(hash, 'wrong password')).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(false);
  });

  it('verifies imported bcrypt hashes and asks for a rehash', async () => {
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      const hash = bcrypt.hashSync(password, 4).replace(/^\$2[aby]\$/, prefix);
      expect(isKnownPasswordHash(hash)).toBe(true);
      expect(await hasher.verify(hash, password)).toBe(true);
      expect(await hasher.verify(hash, 'wrong password')).toBe(false);
      expect(hasher.needsRehash(hash)).toBe(true);
    }
  });

  it('verifies the seed’s legacy unsalted SHA-256 hashes and asks for a rehash', async () => {
    const hex = createHash('sha256').update(password).digest('hex');
    for (const hash of [hex, hex.toUpperCase(), `sha256:${hex}`]) {
      expect(isKnownPasswordHash(hash)).toBe(true);
      expect(await hasher.verify(hash, password)).toBe(true);
      expect(await hasher.verify(hash, 'wrong password')).toBe(false);
      expect(hasher.needsRehash(hash)).toBe(true);
    }
  });

  it('asks for a rehash of weaker argon2 parameters or variants', async () => {
    const argon2 = (await import('argon2')).default;
    expect(hasher.needsRehash(await argon2.hash(password, { type: argon2.argon2id, memoryCost: 4096 }))).toBe(true);
    expect(hasher.needsRehash(await argon2.hash(password, { type: argon2.argon2i }))).toBe(true);
  });

  it.each(['', 'plaintext', '$argon2id$garbage', '$2b$10$short', 'sha256:xyz', 'md5:5f4dcc3b5aa765d61d8327deb882cf99'])(
    'never matches the unreadable stored hash %j',
    async (hash) => {
      expect(isKnownPasswordHash(hash)).toBe(false);
      expect(await hasher.verify(hash, password)).toBe(false);
      expect(await hasher.verify(hash, hash)).toBe(false);
    },
  );
});
