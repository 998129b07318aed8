export type ReadinessCheck = () => Promise<void>;

export interface ReadinessReport {
  /** The pod can serve: every required check passes and it is not draining. */
  ready: boolean;
  draining: boolean;
  /** Optional dependencies that fail: the pod serves, with less (e.g. no cross-pod fan-out while Redis is away). */
  degraded: string[];
  /** `ok`, or what is wrong. */
  checks: Record<string, string>;
}

/**
 * What `/ready` reports. A required check failing takes the pod out of the
 * load balancer; an optional one only marks it degraded, so that a
 * dependency every pod shares (Redis) going away does not take every pod
 * out at once. Reports are computed at most once per `cacheMs` however
 * often they are asked for (a check may open a database connection).
 */
export class Readiness {
  readonly #checks = new Map<string, { check: ReadinessCheck; required: boolean }>();
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  #draining = false;
  #last: { at: number; report: Promise<ReadinessReport> } | undefined;

  constructor(options: { timeoutMs?: number; cacheMs?: number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#cacheMs = options.cacheMs ?? 1000;
  }

  /** `required: false` marks an optional dependency (default: required). */
  addCheck(name: string, check: ReadinessCheck, options: { required?: boolean } = {}): void {
    this.#checks.set(name, { check, required: options.required ?? true });
  }

  /** From now on the pod reports not ready, so the load balancer stops sending it work. */
  startDraining(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  async report(): Promise<ReadinessReport> {
    const now = performance.now();
    if (!this.#last || now - this.#last.at >= this.#cacheMs) this.#last = { at: now, report: this.#runChecks() };
    const report = await this.#last.report;
    // Draining is known at once, whatever the cache holds.
    return { ...report, ready: report.ready && !this.#draining, draining: this.#draining };
  }

  async #runChecks(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.#checks].map(async ([name, { check, required }]) => ({ name, required, outcome: await this.#run(check) })),
    );
    const failing = entries.filter((entry) => entry.outcome !== 'ok');
    return {
      ready: !failing.some((entry) => entry.required),
      draining: this.#draining,
      degraded: failing.filter((entry) => !entry.required).map((entry) => entry.name),
      checks: Object.fromEntries(entries.map((entry) => [entry.name, entry.outcome])),
    };
  }

  async #run(check: ReadinessCheck): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${this.#timeoutMs} ms`), this.#timeoutMs);
    });
    try {
      return await Promise.race([check().then(() => 'ok'), timeout]);
    } catch (error) {
      return (error as Error).message || String(error);
    } finally {
      clearTimeout(timer);
    }
  }
}
