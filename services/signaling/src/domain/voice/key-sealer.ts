import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';

/** How a sealed private key is stored in `signing_keys.private_jwk`. */
interface SealedJwk {
  sealed: 'A256GCM';
  iv: string;
  tag: string;
  data: string;
}

function isSealed(stored: Record<string, unknown>): stored is Record<string, unknown> & SealedJwk {
  return stored.sealed === 'A256GCM';
}

/**
 * Seals the private halves of the join-token signing keys at rest, with
 * `VOICE_KEY_ENCRYPTION_SECRET`: AES-256-GCM under a key derived by
 * HKDF-SHA256, the key id as associated data (a sealed key cannot be moved
 * to another row). Without a secret, keys are stored as they are. Keys stored
 * before a secret was set still open, so one can be introduced at any time.
 */
export class KeySealer {
  readonly #key: Buffer | undefined;

  constructor(secret: string | undefined) {
    this.#key = secret === undefined ? undefined : Buffer.from(hkdfSync('sha256', secret, 'parley', 'signing-key-sealing v1', 32));
  }

  get sealing(): boolean {
    return this.#key !== undefined;
  }

  seal(kid: string, jwk: JWK): Record<string, unknown> {
    if (!this.#key) return { ...jwk };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv).setAAD(Buffer.from(kid));
    const data = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
    const sealed: SealedJwk = {
      sealed: 'A256GCM',
      iv: iv.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
      data: data.toString('base64url'),
    };
    return { ...sealed };
  }

  /** Throws when the key is sealed and no secret, or another one, is configured. */
  open(kid: string, stored: Record<string, unknown>): JWK {
    if (!isSealed(stored)) return stored as JWK;
    if (!this.#key) throw new Error(`signing key ${kid} is sealed, and VOICE_KEY_ENCRYPTION_SECRET is not set`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(stored.iv, 'base64url'))
        .setAAD(Buffer.from(kid))
        .setAuthTag(Buffer.from(stored.tag, 'base64url'));
      const json = Buffer.concat([decipher.update(Buffer.from(stored.data, 'base64url')), decipher.final()]).toString('utf8');
      return JSON.parse(json) as JWK;
    } catch {
      throw new Error(`signing key ${kid} does not open with VOICE_KEY_ENCRYPTION_SECRET (another secret sealed it)`);
    }
  }
}
