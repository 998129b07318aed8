import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { KeySealer } from './key-sealer.ts';

const SECRET = 'a-voice-key-encryption-secret-of-40-chars';

async function privateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return exportJWK(privateKey);
}

describe('KeySealer', () => {
  it('seals a private key so that the stored form holds none of it, and opens it again', async () => {
    const jwk = await privateJwk();
    const sealer = new KeySealer(SECRET);
    const stored = sealer.seal('kid-1', jwk);
    expect(Object.keys(stored).sort()).toEqual(['data', 'iv', 'sealed', 'tag']);
    expect(JSON.stringify(stored)).not.toContain(jwk.d);
    expect(sealer.open('kid-1', stored)).toEqual(jwk);
    // A fresh IV each time: sealing twice differs.
    expect(sealer.seal('kid-1', jwk).data).not.toBe(stored.data);
  });

  it('refuses to open with another secret, without a secret, under another key id, or tampered', async () => {
    const stored = new KeySealer(SECRET).seal('kid-1', await privateJwk());
    expect(() => new KeySealer(`${SECRET}-other`).open('kid-1', stored)).toThrow(/does not open/);
    expect(() => new KeySealer(undefined).open('kid-1', stored)).toThrow(/VOICE_KEY_ENCRYPTION_SECRET is not set/);
    expect(() => new KeySealer(SECRET).open('kid-2', stored)).toThrow(/does not open/);
    const data = Buffer.from(String(stored.data), 'base64url');
    data[0] = data[0]! ^ 1;
    expect(() => new KeySealer(SECRET).open('kid-1', { ...stored, data: data.toString('base64url') })).toThrow(/does not open/);
  });

  it('without a secret stores keys as they are, and a secret still opens keys stored before it was set', async () => {
    const jwk = await privateJwk();
    const plain = new KeySealer(undefined).seal('kid-1', jwk);
    expect(plain).toEqual(jwk);
    expect(new KeySealer(SECRET).open('kid-1', plain)).toEqual(jwk);
  });
});
