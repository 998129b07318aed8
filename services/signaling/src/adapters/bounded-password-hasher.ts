import pLimit, { type LimitFunction } from 'p-limit';
import type { PasswordHasher } from '../domain/accounts/password-hasher.ts';
import { AppError } from '../errors.ts';

export interface HashingLoad {
  /** Called whenever the number of waiting hashes changes. */
  onWaiting?(waiting: number): void;
  /** Called when a hash is refused because the queue is full. */
  onRejected?(): void;
}

/**
 * Runs at most `concurrency` hashes at once and keeps at most `queueMax`
 * waiting; beyond that a sign-in is refused with `unavailable` at once, so a
 * login flood queues a bounded amount of work instead of an unbounded backlog
 * of requests. (Resident memory is bounded by libuv's thread pool, not by this:
 * each pool thread that ever hashed keeps its 19 MiB argon2 buffer.)
 */
export class BoundedPasswordHasher implements PasswordHasher {
  readonly #inner: PasswordHasher;
  readonly #limit: LimitFunction;
  readonly #queueMax: number;
  readonly #load: HashingLoad;

  constructor(inner: PasswordHasher, options: { concurrency: number; queueMax: number } & HashingLoad) {
    this.#inner = inner;
    this.#limit = pLimit(options.concurrency);
    this.#queueMax = options.queueMax;
    this.#load = options;
  }

  hash(password: string): Promise<string> {
    return this.#run(() => this.#inner.hash(password));
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.#run(() => this.#inner.verify(hash, password));
  }

  needsRehash(hash: string): boolean {
    return this.#inner.needsRehash(hash);
  }

  async #run<T>(work: () => Promise<T>): Promise<T> {
    const admitted = this.#limit.activeCount + this.#limit.pendingCount;
    if (admitted >= this.#limit.concurrency + this.#queueMax) {
      this.#load.onRejected?.();
      throw new AppError('unavailable', 'Too many sign-ins at once; try again shortly', { retryAfterMs: 1000 });
    }
    const result = this.#limit(work);
    this.#load.onWaiting?.(this.#limit.pendingCount);
    try {
      return await result;
    } finally {
      this.#load.onWaiting?.(this.#limit.pendingCount);
    }
  }
}
