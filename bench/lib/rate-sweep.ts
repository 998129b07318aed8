import { errorCount, type PhaseResult } from './load-phase.ts';

export interface SweepLimits {
  /** A step passes while its p99 send→receive latency is at most this. */
  p99LimitMs: number;
  /** …and it lost at most this share of its expected deliveries. */
  maxLostShare: number;
}

export interface SweepStep<R extends PhaseResult = PhaseResult> {
  /** Offered messages per second. */
  rate: number;
  result: R;
  passed: boolean;
  /** Why it failed; empty when it passed. */
  reason: string;
  /** A repeat of a rate that failed once: the machine is shared, so one bad window does not end the sweep. */
  retry: boolean;
}

export interface Sweep<R extends PhaseResult = PhaseResult> {
  steps: Array<SweepStep<R>>;
  /** The last rate that passed: undefined when even the first failed. */
  knee: number | undefined;
  /** Why the sweep stopped. */
  stoppedBecause: string;
}

export function verdict(result: PhaseResult, limits: SweepLimits): { passed: boolean; reason: string } {
  const reasons: string[] = [];
  if (!(result.receiveLatencyMs.p99 <= limits.p99LimitMs)) reasons.push(`p99 ${result.receiveLatencyMs.p99.toFixed(0)} ms`);
  const errors = errorCount(result);
  if (errors > 0) reasons.push(`${errors} failed acks`);
  if (result.lostDeliveries > limits.maxLostShare * result.expectedDeliveries) reasons.push(`${result.lostDeliveries} lost`);
  return { passed: reasons.length === 0, reason: reasons.join(', ') };
}

/**
 * Raises the offered rate by `factor` per step until a step fails its limits
 * twice in a row (or `maxSteps` ran): the knee is the last rate that passed.
 * A failed step is repeated once, because other work on a shared machine can
 * spoil one window; both attempts are kept.
 */
export async function sweepRates<R extends PhaseResult>(options: {
  startRate: number;
  factor: number;
  maxSteps: number;
  limits: SweepLimits;
  step: (rate: number) => Promise<R>;
  /** Called after a step that failed, before the next one: lets the backlog drain. */
  recover: () => Promise<void>;
  log: (line: string) => void;
}): Promise<Sweep<R>> {
  const steps: Array<SweepStep<R>> = [];
  let rate = options.startRate;
  let retry = false;
  while (steps.length < options.maxSteps) {
    const result = await options.step(rate);
    const { passed, reason } = verdict(result, options.limits);
    steps.push({ rate, result, passed, reason, retry });
    options.log(
      `  ${rate} msgs/s${retry ? ' (again)' : ''}: ${Math.round(result.deliveriesPerSecond)} deliveries/s, p50 ${result.receiveLatencyMs.p50.toFixed(1)} ms, ` +
        `p99 ${result.receiveLatencyMs.p99.toFixed(1)} ms, machine ${result.cpu.machineBusyPercent.toFixed(0)}% busy${passed ? '' : ` — over: ${reason}`}`,
    );
    if (!passed && retry) break;
    if (!passed) await options.recover();
    retry = !passed;
    if (passed) rate = Math.round(rate * options.factor);
  }
  const passedSteps = steps.filter((step) => step.passed);
  const last = steps.at(-1);
  return {
    steps,
    knee: passedSteps.at(-1)?.rate,
    stoppedBecause: last && !last.passed ? `${last.rate} msgs/s went over twice: ${last.reason}` : `${steps.length} steps ran (the most allowed)`,
  };
}
