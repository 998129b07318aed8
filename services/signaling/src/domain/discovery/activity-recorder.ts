import { isUuid } from '@parley/protocol';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../logger.ts';
import type { Store } from '../store.ts';
import type { ActivityCounts } from './activity.repository.ts';

const HOUR_MS = 3_600_000;
const DEFAULT_FLUSH_INTERVAL_MS = 30_000;
/** (community, hour) pairs held between flushes; beyond it counts are dropped, not queued without end. */
export const MAX_PENDING_ACTIVITY = 10_000;

/**
 * Counts joins and messages per community per hour in memory and adds them
 * to `server_activity` every `flushIntervalMs` in one statement, so that the
 * join and chat paths never wait on it. Each pod keeps its own counts; the
 * upsert adds them up. A failed flush keeps its counts for the next one.
 */
export class ActivityRecorder {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timer: ReturnType<typeof setInterval>;
  #pending = new Map<string, ActivityCounts>();
  /** Joins and messages dropped since the last flush because of the bound. */
  #dropped = 0;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(deps: { store: Store; clock: Clock; logger: Logger; flushIntervalMs?: number }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#log = deps.logger.child({ module: 'discovery.activity' });
    this.#timer = setInterval(() => void this.flush(), deps.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Counts a member joining `serverId` now. Never throws. */
  recordJoin(serverId: string): void {
    this.#record(serverId, 'joins');
  }

  /** Counts a message sent in `serverId` now. Never throws. */
  recordMessage(serverId: string): void {
    this.#record(serverId, 'messages');
  }

  /** Writes the counts so far. Never rejects: a failure is logged and the counts wait for the next flush. */
  flush(): Promise<void> {
    // One flush at a time per pod: a slow one is not overtaken, and its counts are not sent twice.
    this.#flushing = this.#flushing.then(() => this.#flushOnce());
    return this.#flushing;
  }

  /** Stops the timer and flushes what is left; later records are ignored. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.flush();
  }

  #record(serverId: string, field: 'joins' | 'messages'): void {
    if (this.#closed || !isUuid(serverId)) return;
    const id = serverId.toLowerCase();
    const hour = Math.floor(this.#clock.now().getTime() / HOUR_MS) * HOUR_MS;
    if (!Number.isFinite(hour)) return;
    const key = `${id} ${hour}`;
    let counts = this.#pending.get(key);
    if (!counts) {
      if (this.#pending.size >= MAX_PENDING_ACTIVITY) {
        this.#dropped++;
        return;
      }
      counts = { serverId: id, hour: new Date(hour), joins: 0, messages: 0 };
      this.#pending.set(key, counts);
    }
    counts[field]++;
  }

  async #flushOnce(): Promise<void> {
    if (this.#dropped > 0) {
      this.#log.warn({ dropped: this.#dropped, max: MAX_PENDING_ACTIVITY }, 'too much pending activity; counts dropped');
      this.#dropped = 0;
    }
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      await this.#store.repos.activity.add([...batch.values()]);
    } catch (error) {
      this.#restore(batch);
      this.#log.warn({ err: error, pending: this.#pending.size }, 'activity flush failed; keeping the counts for the next one');
    }
  }

  /** Puts a failed batch back, merged with what was recorded meanwhile, within the bound. */
  #restore(batch: Map<string, ActivityCounts>): void {
    for (const [key, counts] of batch) {
      const current = this.#pending.get(key);
      if (current) {
        current.joins += counts.joins;
        current.messages += counts.messages;
      } else if (this.#pending.size < MAX_PENDING_ACTIVITY) {
        this.#pending.set(key, counts);
      } else {
        this.#dropped += counts.joins + counts.messages;
      }
    }
  }
}
