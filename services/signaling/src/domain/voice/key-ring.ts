import type { KeyObject } from 'node:crypto';
import type { SigningKeyRow } from '@parley/db';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../logger.ts';
import type { Store } from '../store.ts';
import { KeySealer } from './key-sealer.ts';
import type { NewSigningKey } from './signing-key.repository.ts';

const ALGORITHM = 'ES256';
/** Clock difference allowed between the pod that signed a token and the SFU that checks it. */
const CLOCK_SKEW_MS = 60_000;
const MAX_REFRESH_INTERVAL_MS = 60_000;

interface LoadedKey {
  kid: string;
  slot: number;
  retiresAt: number;
  publicJwk: JWK;
  privateKey: CryptoKey;
}

/**
 * The cluster's keys for SFU join tokens, shared by every pod through the
 * database. Time is cut in slots of `rotationMs`; slot n's key signs during
 * [n·R, (n+1)·R). The keys of the current and the next slot always exist, so
 * a key is in the JWKS a whole rotation before it signs, and an SFU caching
 * the JWKS knows it in time. A key retires (leaves the JWKS, its row is
 * deleted) once the last token it can have signed has expired, plus skew.
 */
export class KeyRing {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #rotationMs: number;
  readonly #tokenTtlMs: number;
  readonly #log: Logger;
  readonly #sealer: KeySealer;
  /** By slot, as of the last refresh. */
  #keys = new Map<number, LoadedKey>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #refreshing: Promise<void> | undefined;

  /** `sealer` seals private keys at rest (default: stored as they are). */
  constructor(deps: { store: Store; clock: Clock; rotationMs: number; tokenTtlSeconds: number; logger: Logger; sealer?: KeySealer }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#rotationMs = deps.rotationMs;
    this.#tokenTtlMs = deps.tokenTtlSeconds * 1000;
    this.#log = deps.logger.child({ module: 'voice.keys' });
    this.#sealer = deps.sealer ?? new KeySealer(undefined);
  }

  /** Loads the keys (creating those missing), then refreshes them every min(rotation / 4, 60 s). */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer ??= setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.#log.warn({ err: withoutRowDetail(error) }, 'signing key refresh failed; retrying on the next tick'),
      );
    }, Math.min(this.#rotationMs / 4, MAX_REFRESH_INTERVAL_MS));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The key that signs now. Refreshes first when this slot's key is not loaded yet (a refresh lagged). */
  async signingKey(): Promise<{ kid: string; privateKey: CryptoKey | KeyObject }> {
    const slot = this.#slotAt(this.#clock.now().getTime());
    if (!this.#keys.has(slot)) await this.refresh();
    const key = this.#keys.get(slot);
    if (!key) throw new Error(`No signing key for slot ${slot}`);
    return { kid: key.kid, privateKey: key.privateKey };
  }

  /** Public keys to publish: every key not yet retired (previous, current, next). */
  jwks(): { keys: JWK[] } {
    const now = this.#clock.now().getTime();
    const published = [...this.#keys.values()].filter((key) => key.retiresAt > now).sort((a, b) => a.slot - b.slot);
    return { keys: published.map((key) => ({ ...key.publicJwk })) };
  }

  /**
   * Deletes retired keys, creates the current and next slots' keys if they
   * are missing, and loads what the database holds. Calls made while one
   * runs share it: its keys cover the slot after the one it started in.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refreshOnce().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refreshOnce(): Promise<void> {
    const now = this.#clock.now();
    const repo = this.#store.repos.signingKeys;
    const retired = await repo.deleteRetired(now);
    if (retired > 0) this.#log.info({ retired }, 'signing keys retired');
    let rows = await repo.listUnretired(now);
    const current = this.#slotAt(now.getTime());
    const missing = [current, current + 1].filter((slot) => !rows.some((row) => row.slot === slot));
    if (missing.length > 0) {
      for (const slot of missing) {
        const key = await this.#generate(slot);
        // Pods starting together race here; the unique slot keeps the first key and drops the others.
        if (await repo.create(key)) this.#log.info({ kid: key.kid, slot, notBefore: key.notBefore }, 'signing key created');
      }
      rows = await repo.listUnretired(now);
    }
    this.#keys = await this.#load(rows);
  }

  /** Imports the rows' private keys, reusing those imported before. */
  async #load(rows: SigningKeyRow[]): Promise<Map<number, LoadedKey>> {
    const keys = new Map<number, LoadedKey>();
    for (const row of rows) {
      const known = this.#keys.get(row.slot);
      keys.set(
        row.slot,
        known?.kid === row.kid
          ? known
          : {
              kid: row.kid,
              slot: row.slot,
              retiresAt: row.retires_at.getTime(),
              publicJwk: row.public_jwk as JWK,
              privateKey: (await importJWK(this.#sealer.open(row.kid, row.private_jwk as Record<string, unknown>), row.algorithm)) as CryptoKey,
            },
      );
    }
    return keys;
  }

  async #generate(slot: number): Promise<NewSigningKey> {
    const { publicKey, privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    return {
      kid,
      slot,
      algorithm: ALGORITHM,
      publicJwk: { ...publicJwk, kid, alg: ALGORITHM, use: 'sig' },
      privateJwk: this.#sealer.seal(kid, { ...(await exportJWK(privateKey)), kid, alg: ALGORITHM }),
      notBefore: new Date(slot * this.#rotationMs),
      // The last token this key signs is issued just before (slot + 1)·R.
      retiresAt: new Date((slot + 1) * this.#rotationMs + this.#tokenTtlMs + CLOCK_SKEW_MS),
    };
  }

  #slotAt(ms: number): number {
    return Math.floor(ms / this.#rotationMs);
  }
}

/**
 * A failed insert's Postgres error may quote the whole row in `detail`
 * ("Failing row contains ..."), private key included: log the rest only.
 */
function withoutRowDetail(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { name, message, stack } = error;
  return { name, message, stack, code: (error as { code?: unknown }).code };
}
