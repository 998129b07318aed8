import type { Store } from '../../store.ts';

/**
 * Recounts of one community start at least this far apart on a pod, and
 * further when a recount is slow (it reads every active member), so that
 * recounting takes at most about a quarter of the time — but never more than
 * the maximum apart, since the joins waiting for the next recount wait that long.
 */
const RECOUNT_SPACING = { minMs: 20, perDuration: 4, maxMs: 100 };

interface Recounts {
  running?: Promise<number | undefined>;
  /** Starts after `running`; shared by every caller that arrives meanwhile. */
  queued?: Promise<number | undefined>;
  /** When the last recount ended, and how long it took (performance.now() ms). */
  lastEndedAt: number;
  lastDurationMs: number;
}

/**
 * Keeps `servers.member_count` right after joins that did not raise it
 * (`admitMemberCountedLater`) by recounting the community's active members.
 * A recount that starts after a caller's commit covers it, so per community
 * this pod runs one recount at a time, and the callers that arrive while it
 * runs share the next one, which waits a little (see the spacing above) to
 * gather more: a burst of joins costs a few recounts, not one locked update
 * each. If this pod dies before recounting, the next join of the community
 * (on any pod) puts the count right.
 */
export class MemberCounts {
  readonly #store: Store;
  readonly #byServer = new Map<string, Recounts>();

  constructor(store: Store) {
    this.#store = store;
  }

  /**
   * Resolves, with the count, once a recount that started after this call
   * has committed (undefined when the community is gone); rejects when it failed.
   */
  refresh(serverId: string): Promise<number | undefined> {
    let recounts = this.#byServer.get(serverId);
    if (!recounts) {
      recounts = { lastEndedAt: -Infinity, lastDurationMs: 0 };
      this.#byServer.set(serverId, recounts);
    }
    if (recounts.queued) return recounts.queued;
    if (!recounts.running) return this.#start(serverId, recounts);
    const state = recounts;
    const queued = recounts.running
      .then(ignore, ignore)
      .then(() => {
        const spacing = Math.min(RECOUNT_SPACING.maxMs, Math.max(RECOUNT_SPACING.minMs, state.lastDurationMs * RECOUNT_SPACING.perDuration));
        return delay(state.lastEndedAt - state.lastDurationMs + spacing - performance.now());
      })
      .then(() => {
        state.queued = undefined;
        return this.#start(serverId, state);
      });
    state.queued = queued;
    return queued;
  }

  #start(serverId: string, recounts: Recounts): Promise<number | undefined> {
    const startedAt = performance.now();
    const run = this.#store.transaction((repos) => repos.servers.recountMembers(serverId));
    recounts.running = run;
    const settle = () => {
      recounts.lastEndedAt = performance.now();
      recounts.lastDurationMs = recounts.lastEndedAt - startedAt;
      if (recounts.running === run) recounts.running = undefined;
      if (!recounts.running && !recounts.queued) this.#byServer.delete(serverId);
    };
    run.then(settle, settle);
    return run;
  }
}

function ignore(): void {}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
