/** What became of one item of a batch: its value, or the error it is answered with. */
export type ItemOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: one batch is written at a time; items submitted meanwhile
 * wait and go together in the next one (at most `maxBatch` each), so the cost
 * of a transaction is shared by everything that arrived during the previous
 * one. An item submitted while nothing is being written goes at the end of
 * the current turn of the event loop, with whatever else arrived in it: a
 * lone message waits for no timer. Each submitter's promise settles when its
 * batch has been written (committed) or has failed.
 */
export class GroupCommit<T, R> {
  readonly #write: (items: readonly T[]) => Promise<Array<ItemOutcome<R>>>;
  readonly #maxBatch: number;
  readonly #onBatch: (size: number) => void;
  #waiting: Array<Waiting<T, R>> = [];
  #writing = false;

  /**
   * `write` stores a batch and answers each item in order; when it throws,
   * every item of the batch is answered with that error.
   */
  constructor(options: {
    write: (items: readonly T[]) => Promise<Array<ItemOutcome<R>>>;
    maxBatch: number;
    onBatch?: (size: number) => void;
  }) {
    this.#write = options.write;
    this.#maxBatch = options.maxBatch;
    this.#onBatch = options.onBatch ?? (() => {});
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (this.#writing) return;
      this.#writing = true;
      setImmediate(() => void this.#writeAll());
    });
  }

  /** Items waiting for a batch (not counting the one being written). */
  get waiting(): number {
    return this.#waiting.length;
  }

  async #writeAll(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#maxBatch);
      this.#onBatch(batch.length);
      try {
        const outcomes = await this.#write(batch.map((waiting) => waiting.item));
        batch.forEach((waiting, index) => {
          const outcome = outcomes[index]!;
          if (outcome.ok) waiting.resolve(outcome.value);
          else waiting.reject(outcome.error);
        });
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
    this.#writing = false;
  }
}
