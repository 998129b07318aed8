import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * oidc-provider's storage for a test provider. oidc-provider has its own
 * in-memory adapter, but it prints a "development-only" warning whenever it
 * is used; this one is as small as a provider living for one test file needs
 * (no expiry: the provider checks `exp` on what it finds).
 */
export class InMemoryOidcAdapter implements Adapter {
  readonly #model: string;
  readonly #records: Map<string, AdapterPayload>;

  /** Every model shares `records`; keys are prefixed by model name. */
  constructor(model: string, records: Map<string, AdapterPayload>) {
    this.#model = model;
    this.#records = records;
  }

  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    this.#records.set(this.#key(id), payload);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#records.get(this.#key(id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#ownRecords().find((payload) => payload.uid === uid);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#ownRecords().find((payload) => payload.userCode === userCode);
  }

  async consume(id: string): Promise<void> {
    const payload = this.#records.get(this.#key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.#records.delete(this.#key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [key, payload] of this.#records) {
      if (payload.grantId === grantId) this.#records.delete(key);
    }
  }

  #key(id: string): string {
    return `${this.#model}:${id}`;
  }

  #ownRecords(): AdapterPayload[] {
    const prefix = `${this.#model}:`;
    return [...this.#records].filter(([key]) => key.startsWith(prefix)).map(([, payload]) => payload);
  }
}
