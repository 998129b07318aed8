import { mkdir, readFile, rename, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

const resultsDir = path.resolve(import.meta.dirname, '../../../../../test-results');
export const reportPath = path.join(resultsDir, 'fuzz-report.json');

/** One kind of failure of one event or route: how often, the smallest case that showed it, a few others. */
export interface FailureEntry {
  subject: string;
  kind: string;
  occurrences: number;
  /** The smallest reproduction seen (by its length as text). */
  reproduction: string;
  detail: string;
  /** Other cases that failed the same way (their labels). */
  alsoSeenWith: string[];
}

/**
 * Counts of the cases run per event or route, by outcome, and the failures
 * found, kept whole (a property records every violation rather than stopping
 * at the first, so one run lists everything that fails).
 */
export class FuzzReport {
  readonly section: string;
  readonly seed: number;
  readonly #started = Date.now();
  readonly #counts = new Map<string, Record<string, number>>();
  readonly #failures = new Map<string, FailureEntry>();

  constructor(section: string, seed: number) {
    this.section = section;
    this.seed = seed;
  }

  count(subject: string, outcome: string): void {
    const counts = this.#counts.get(subject) ?? { cases: 0 };
    counts.cases = (counts.cases ?? 0) + 1;
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    this.#counts.set(subject, counts);
  }

  casesOf(subject: string): number {
    return this.#counts.get(subject)?.cases ?? 0;
  }

  fail(subject: string, kind: string, detail: string, reproduction: string, label: string): void {
    const key = `${subject}\u0000${kind}`;
    const entry = this.#failures.get(key);
    if (!entry) {
      this.#failures.set(key, { subject, kind, occurrences: 1, reproduction, detail, alsoSeenWith: [] });
      return;
    }
    entry.occurrences++;
    if (reproduction.length < entry.reproduction.length) {
      entry.reproduction = reproduction;
      entry.detail = detail;
    }
    if (entry.alsoSeenWith.length < 6 && !entry.alsoSeenWith.includes(label)) entry.alsoSeenWith.push(label);
  }

  failuresOf(subject?: string): FailureEntry[] {
    return [...this.#failures.values()].filter((entry) => subject === undefined || entry.subject === subject);
  }

  /** A failure message for an assertion: the seed to replay with, then each failure. */
  describe(failures: FailureEntry[]): string {
    const lines = failures.map(
      (entry) =>
        `- ${entry.subject}: ${entry.kind} (${entry.occurrences}×)\n    case: ${entry.reproduction}\n    seen: ${entry.detail}` +
        (entry.alsoSeenWith.length > 0 ? `\n    also with: ${entry.alsoSeenWith.join(' | ')}` : ''),
    );
    return `fuzz failures (replay with FUZZ_SEED=${this.seed}):\n${lines.join('\n')}`;
  }

  /** Merges this section into test-results/fuzz-report.json (test files run in parallel workers: a lock directory serialises them). */
  async write(extra: Record<string, unknown> = {}): Promise<void> {
    await mkdir(resultsDir, { recursive: true });
    const lock = `${reportPath}.lock`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await mkdir(lock);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    try {
      let report: Record<string, unknown> = {};
      try {
        report = JSON.parse(await readFile(reportPath, 'utf8')) as Record<string, unknown>;
      } catch {
        // First section of this run, or an unreadable leftover: start afresh.
      }
      report[this.section] = {
        finishedAt: new Date().toISOString(),
        seed: this.seed,
        durationMs: Date.now() - this.#started,
        totalCases: [...this.#counts.values()].reduce((sum, counts) => sum + (counts.cases ?? 0), 0),
        ...extra,
        cases: Object.fromEntries([...this.#counts.entries()].sort(([a], [b]) => a.localeCompare(b))),
        failures: this.failuresOf(),
      };
      await writeFile(`${reportPath}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
      await rename(`${reportPath}.tmp`, reportPath);
    } finally {
      await rmdir(lock);
    }
  }
}
