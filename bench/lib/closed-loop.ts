export interface ClosedLoopOptions {
  /** Operations in flight at once: each worker starts its next operation as soon as its last one ends. */
  workers: number;
  /** Operations in all, shared among the workers. */
  total: number;
  /** One operation; `index` runs from 0 to `total - 1`. */
  operation: (index: number) => Promise<unknown>;
  /** When aborted, workers start nothing new and the loop rejects with the abort reason. */
  signal?: AbortSignal;
}

export interface ClosedLoopResult {
  /** Milliseconds each successful operation took, in completion order. */
  latenciesMs: number[];
  /** Failed operations, counted by error code (or message). */
  errors: Record<string, number>;
  /** Wall time from the first start to the last end. */
  durationMs: number;
  /** Successful operations per second of wall time. */
  perSecond: number;
}

/** Runs `total` operations with `workers` of them always in flight, timing each. */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const latenciesMs: number[] = [];
  const errors: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < options.total && !options.signal?.aborted) {
      const index = next++;
      const started = performance.now();
      try {
        await options.operation(index);
        latenciesMs.push(performance.now() - started);
      } catch (error) {
        const key = errorKey(error);
        errors[key] = (errors[key] ?? 0) + 1;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: options.workers }, worker));
  const durationMs = performance.now() - started;
  options.signal?.throwIfAborted();
  return { latenciesMs, errors, durationMs, perSecond: latenciesMs.length / (durationMs / 1000) };
}

function errorKey(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}
