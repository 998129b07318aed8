import type { Seeder } from './seeder.ts';

/** Average number of the pods' Postgres connections in each state over a sampled stretch of time. */
export interface PostgresActivity {
  samples: number;
  /** Executing a statement and not waiting on anything: Postgres is working. */
  running: number;
  /** Waiting for a lock another transaction holds (a row both want to update). */
  waitingForLock: number;
  /** In an open transaction, waiting for the pod to send its next statement: the pod (or the network to it) is the slow side. */
  idleInTransaction: number;
  /** Any other wait: I/O, internal locks. */
  otherWait: number;
  /** Connected and not in a transaction: spare connections. */
  idle: number;
}

/**
 * Samples `pg_stat_activity` every `intervalMs`, to say what a write path
 * waits on: a contended row, the pods between statements, or a pool with no
 * connection to spare. The sampling query needs a core itself, so on a
 * saturated machine it mostly runs while the others wait: "running" is then
 * undercounted (read Postgres's CPU from /proc instead); lock waits and idle
 * connections it shows reliably.
 */
export class PostgresActivitySampler {
  readonly #seeder: Seeder;
  readonly #timer: NodeJS.Timeout;
  readonly #totals = { running: 0, waitingForLock: 0, idleInTransaction: 0, otherWait: 0, idle: 0 };
  #samples = 0;
  #inFlight: Promise<void> = Promise.resolve();
  #stopped: Promise<PostgresActivity> | undefined;

  private constructor(seeder: Seeder, intervalMs: number) {
    this.#seeder = seeder;
    this.#timer = setInterval(() => {
      this.#inFlight = this.#sample();
    }, intervalMs);
  }

  static start(seeder: Seeder, intervalMs = 250): PostgresActivitySampler {
    return new PostgresActivitySampler(seeder, intervalMs);
  }

  /** Stops sampling and returns the averages; calling it again returns the same. */
  stop(): Promise<PostgresActivity> {
    this.#stopped ??= this.#finish();
    return this.#stopped;
  }

  async #finish(): Promise<PostgresActivity> {
    clearInterval(this.#timer);
    await this.#inFlight;
    const average = (total: number) => (this.#samples > 0 ? total / this.#samples : Number.NaN);
    return {
      samples: this.#samples,
      running: average(this.#totals.running),
      waitingForLock: average(this.#totals.waitingForLock),
      idleInTransaction: average(this.#totals.idleInTransaction),
      otherWait: average(this.#totals.otherWait),
      idle: average(this.#totals.idle),
    };
  }

  async #sample(): Promise<void> {
    try {
      const rows = await this.#seeder.backendStates();
      for (const { state, waitEventType, count } of rows) {
        if (state === 'idle') this.#totals.idle += count;
        else if (state.startsWith('idle in transaction')) this.#totals.idleInTransaction += count;
        else if (waitEventType === 'Lock') this.#totals.waitingForLock += count;
        else if (waitEventType === null || waitEventType === 'CPU') this.#totals.running += count;
        else this.#totals.otherWait += count;
      }
      this.#samples += 1;
    } catch {
      // a sample lost to a busy database is simply not counted
    }
  }
}

/** The averages as one readable cell. */
export function describeActivity(activity: PostgresActivity): string {
  if (activity.samples === 0) return 'not sampled';
  const f = (value: number) => value.toFixed(1);
  return `running ${f(activity.running)}, waiting for a lock ${f(activity.waitingForLock)}, idle in transaction ${f(activity.idleInTransaction)}, other waits ${f(activity.otherWait)}, idle ${f(activity.idle)}`;
}
