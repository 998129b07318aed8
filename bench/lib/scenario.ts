/** What the runner hands a scenario. */
export interface ScenarioContext {
  /** A progress line on stderr; not part of the results. */
  log(line: string): void;
  /** Aborted on Ctrl-C: stop the load, then clean up as usual. */
  signal: AbortSignal;
}

/** A table of the report; numbers are printed with one decimal, NaN as "–". */
export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
}

/** What a scenario returns; the runner adds timing and the environment, and writes it out. */
export interface ScenarioResult {
  /** The knobs of the run: counts, concurrency, pod settings. */
  parameters: Record<string, string | number>;
  tables: Table[];
  /** What a reader needs to read the tables right. */
  notes: string[];
  /** Every figure, machine-readable (written to the JSON only). */
  data: unknown;
}

/** One benchmark, runnable alone with `npm run bench -- <name>`. */
export interface Scenario {
  name: string;
  description: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}
