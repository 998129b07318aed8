export type ReadinessCheck = () => Promise<void>;

export interface ReadinessReport {
  ready: boolean;
  draining: boolean;
  /** `ok`, or what is wrong. */
  checks: Record<string, string>;
}

/** What `/ready` reports: every dependency answering, and the pod not draining. */
export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();
  readonly #timeoutMs: number;
  #draining = false;

  constructor(options: { timeoutMs?: number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 1000;
  }

  addCheck(name: string, check: ReadinessCheck): void {
    this.#checks.set(name, check);
  }

  /** From now on the pod reports not ready, so the load balancer stops sending it work. */
  startDraining(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  async report(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.#checks].map(async ([name, check]) => [name, await this.#run(check)] as const),
    );
    const checks = Object.fromEntries(entries);
    const healthy = entries.every(([, outcome]) => outcome === 'ok');
    return { ready: healthy && !this.#draining, draining: this.#draining, checks };
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
