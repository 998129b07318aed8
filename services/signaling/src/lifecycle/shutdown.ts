import type { Logger } from 'pino';

interface Step {
  name: string;
  run: () => Promise<void> | void;
}

/**
 * The ordered list of what to close at shutdown. Steps run one after the
 * other in the order they were added (stop accepting, drain sockets, close
 * Redis and Postgres); a failing step is logged and the next one still runs.
 */
export class ShutdownRegistry {
  readonly #steps: Step[] = [];
  readonly #logger: Logger;
  #running: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(name: string, run: Step['run']): void {
    this.#steps.push({ name, run });
  }

  /** Runs every step once; later calls return the same promise. */
  run(reason: string): Promise<void> {
    this.#running ??= this.#runSteps(reason);
    return this.#running;
  }

  async #runSteps(reason: string): Promise<void> {
    this.#logger.info({ reason }, 'shutting down');
    for (const step of this.#steps) {
      const started = performance.now();
      try {
        await step.run();
        this.#logger.debug({ step: step.name, ms: Math.round(performance.now() - started) }, 'shutdown step done');
      } catch (error) {
        this.#logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
  }
}
