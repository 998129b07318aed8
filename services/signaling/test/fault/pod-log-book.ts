/** A pod log line worth keeping as evidence: warnings and errors, and the lines that mark a dependency's state. */
export interface PodLogEntry {
  pod: number;
  /** performance.now() in the test process when the line arrived. */
  at: number;
  level: number;
  msg: string;
  /** The error's message, when the line carries one. */
  err: string | undefined;
  line: Record<string, unknown>;
}

/** The same message from one pod, counted. */
export interface PodLogSummary {
  pod: number;
  level: number;
  msg: string;
  err: string | undefined;
  count: number;
  /** ms after the scenario began that it was first seen. */
  firstAtMs: number;
}

const NOTABLE = /redis|postgres|database|shutting down|listening|drain|degraded|ready/i;
const KEEP_AT_MOST = 20_000;

/**
 * Keeps every pod's notable log lines (the pods log JSON through pino), so a
 * failing scenario can say what the pods saw. `Pod.logs()` keeps only the
 * last 300 lines of the current process; this keeps them across restarts.
 */
export class PodLogBook {
  readonly #entries: PodLogEntry[] = [];

  record(pod: number, raw: string): void {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return;
    }
    const level = typeof line.level === 'number' ? line.level : 0;
    const msg = typeof line.msg === 'string' ? line.msg : '';
    if (level < 40 && !NOTABLE.test(msg)) return;
    const err = line.err as { message?: unknown } | undefined;
    this.#entries.push({ pod, at: performance.now(), level, msg, err: typeof err?.message === 'string' ? err.message : undefined, line });
    if (this.#entries.length > KEEP_AT_MOST) this.#entries.shift();
  }

  /** Entries since `from` (a performance.now() reading). */
  since(from: number): PodLogEntry[] {
    return this.#entries.filter((entry) => entry.at >= from);
  }

  /** Entries since `from`, grouped by pod, level, message and error; the most frequent first. */
  summarise(from: number, limit = 25): PodLogSummary[] {
    const groups = new Map<string, PodLogSummary>();
    for (const entry of this.since(from)) {
      const key = JSON.stringify([entry.pod, entry.level, entry.msg, entry.err]);
      const group = groups.get(key);
      if (group) group.count++;
      else groups.set(key, { pod: entry.pod, level: entry.level, msg: entry.msg, err: entry.err, count: 1, firstAtMs: Math.round(entry.at - from) });
    }
    return [...groups.values()].sort((a, b) => b.count - a.count || a.firstAtMs - b.firstAtMs).slice(0, limit);
  }
}
