import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../logger.ts';

/** V8's own full collection; `last-resort` also compacts and gives freed pages back to the system. */
export type CollectGarbage = () => void;

/**
 * V8's garbage collector, as `--expose-gc` would expose it, asked for a
 * memory-reducing ("last resort") collection. Obtained at run time, so the
 * pod needs no command-line flag.
 */
export function memoryReducingGc(): CollectGarbage {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
  return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/**
 * Gives back the memory a storm of new connections left behind. Handshakes
 * make garbage, V8's heap grows to its peak, and V8 returns the pages only
 * in a collection it runs when the heap turns idle, which a pod holding
 * thousands of connections (their heartbeats allocate all the time) never
 * is: after 10,000 connections it kept about twice the live heap (bench
 * `idle`). So once at least `afterConnections` have opened and none for
 * `quietMs`, this runs that collection itself: one pause of the main thread
 * (about 0.3–0.6 s at 10,000 connections on 2 cores), once per storm.
 */
export class MemoryReclaim {
  readonly #afterConnections: number;
  readonly #quietMs: number;
  readonly #collect: CollectGarbage;
  readonly #log: Logger;
  /** Made once, then re-armed with `refresh()` (cheap: a connection storm re-arms it thousands of times). */
  #timer: NodeJS.Timeout | undefined;
  #opened = 0;
  #stopped = false;

  constructor(options: { afterConnections: number; quietMs: number; collect: CollectGarbage; logger: Logger }) {
    this.#afterConnections = options.afterConnections;
    this.#quietMs = options.quietMs;
    this.#collect = options.collect;
    this.#log = options.logger.child({ module: 'memory-reclaim' });
  }

  /** A connection opened: once enough have, the collection waits until none has for `quietMs`. */
  connectionOpened(): void {
    this.#opened += 1;
    if (this.#stopped || this.#opened < this.#afterConnections) return;
    if (this.#timer) this.#timer.refresh();
    else this.#timer = setTimeout(() => this.#reclaim(), this.#quietMs).unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #reclaim(): void {
    const opened = this.#opened;
    this.#opened = 0;
    const before = process.memoryUsage().rss;
    const started = performance.now();
    this.#collect();
    const pauseMs = Math.round(performance.now() - started);
    const freedMiB = Math.round((before - process.memoryUsage().rss) / 1024 ** 2);
    this.#log.info({ opened, pauseMs, freedMiB }, 'gave back memory after a burst of connections');
  }
}
