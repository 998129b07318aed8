import type { Redis } from 'ioredis';
import type { Logger } from '../../logger.ts';

const UNREACHABLE = new Set(['reconnecting', 'close', 'end']);

/**
 * Whether shared counters in Redis should be used right now. After a failed
 * command (refused, or timed out while Redis is paused) Redis is skipped for
 * `openMs`, then one caller at a time probes it; while the circuit is open,
 * callers use their per-pod fallback without waiting for a timeout each.
 */
export class RedisCircuit {
  readonly #redis: Redis;
  readonly #openMs: number;
  readonly #log: Logger;
  readonly #onOpen: () => void;
  #openUntil = 0;
  #probing = false;
  #open = false;

  constructor(options: { redis: Redis; openMs: number; logger: Logger; onOpen?: () => void }) {
    this.#redis = options.redis;
    this.#openMs = options.openMs;
    this.#log = options.logger.child({ module: 'rate-limit' });
    this.#onOpen = options.onOpen ?? (() => {});
  }

  /** True from a failure until Redis answers a probe again: pods count on their own meanwhile. */
  get open(): boolean {
    return this.#open;
  }

  /**
   * Runs `shared` when Redis may be used, else (or when it fails) `fallback`.
   * `shared` must throw only for Redis failures.
   */
  async run<T>(shared: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    // Lost and waiting to reconnect: a command would only wait in the offline queue. (While
    // connecting, it is sent as soon as the connection is up, or times out.)
    if (UNREACHABLE.has(this.#redis.status)) {
      this.#trip(new Error(`redis connection is ${this.#redis.status}`));
      return fallback();
    }
    const probe = this.#open;
    if (probe && (performance.now() < this.#openUntil || this.#probing)) return fallback();
    this.#probing ||= probe;
    try {
      const result = await shared();
      if (this.#open) this.#log.info('redis answers again: rate limits are shared across pods again');
      this.#open = false;
      return result;
    } catch (error) {
      this.#trip(error);
      return fallback();
    } finally {
      if (probe) this.#probing = false;
    }
  }

  #trip(error: unknown): void {
    this.#openUntil = performance.now() + this.#openMs;
    if (this.#open) return;
    this.#open = true;
    this.#onOpen();
    this.#log.warn({ err: error }, 'redis is unavailable: rate limits fall back to per-pod counters');
  }
}
