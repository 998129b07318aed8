/**
 * Counts the warnings and errors the pods log (pino JSON, level ≥ 40), by
 * message and error message: a failure the load provokes (a pool timeout, a
 * Redis hiccup) is named in the report instead of only counted.
 */
export class PodLogTally {
  readonly #counts = new Map<string, number>();

  /** Give to `startCluster({ onLine })`. */
  readonly onLine = (_pod: number, line: string): void => {
    if (!line.includes('"level":4') && !line.includes('"level":5') && !line.includes('"level":6')) return;
    let entry: { level?: number; msg?: string; err?: { message?: string } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    if ((entry.level ?? 0) < 40) return;
    const key = `${entry.level === 40 ? 'warn' : 'error'} "${entry.msg ?? ''}"${entry.err?.message ? `: ${entry.err.message.slice(0, 120)}` : ''}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  };

  get total(): number {
    return [...this.#counts.values()].reduce((sum, count) => sum + count, 0);
  }

  /** "3× warn "dependency unavailable": timeout exceeded…", most frequent first; empty when nothing was logged. */
  summary(): string[] {
    return [...this.#counts.entries()].sort((a, b) => b[1] - a[1]).map(([key, count]) => `${count}× ${key}`);
  }
}

/** One note line for a report. */
export function describeTally(label: string, tally: PodLogTally): string {
  const lines = tally.summary();
  return lines.length === 0 ? `${label}: the pods logged no warning or error.` : `${label}: the pods logged ${lines.slice(0, 5).join('; ')}${lines.length > 5 ? `; and ${lines.length - 5} other kinds` : ''}.`;
}
