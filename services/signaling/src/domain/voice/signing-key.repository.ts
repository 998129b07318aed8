import type { DB, SigningKeyRow } from '@parley/db';
import type { Kysely } from 'kysely';

export interface NewSigningKey {
  kid: string;
  slot: number;
  algorithm: string;
  publicJwk: Record<string, unknown>;
  privateJwk: Record<string, unknown>;
  notBefore: Date;
  retiresAt: Date;
}

/** The keys that sign SFU join tokens, one per time slot. */
export class SigningKeyRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Keys still published at `now`, oldest slot first. */
  listUnretired(now: Date): Promise<SigningKeyRow[]> {
    return this.#db.selectFrom('signing_keys').selectAll().where('retires_at', '>', now).orderBy('slot').execute();
  }

  /** False when the slot already has a key (another pod made it first); that key stands. */
  async create(key: NewSigningKey): Promise<boolean> {
    const result = await this.#db
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        slot: key.slot,
        algorithm: key.algorithm,
        public_jwk: key.publicJwk,
        private_jwk: key.privateJwk,
        not_before: key.notBefore,
        retires_at: key.retiresAt,
      })
      .onConflict((conflict) => conflict.column('slot').doNothing())
      .executeTakeFirst();
    return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  /** Removes the keys retired at `now`. Returns how many went. */
  async deleteRetired(now: Date): Promise<number> {
    const result = await this.#db.deleteFrom('signing_keys').where('retires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
