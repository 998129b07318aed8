import { monitorEventLoopDelay } from 'node:perf_hooks';
import { latencyFigures, type LatencyFigures } from './latency-stats.ts';
import type { LoadRecorder } from './load-recorder.ts';
import type { CpuMeter, CpuReport, CpuSnapshot } from './process-cpu.ts';
import { nowMs, sleep } from './stamp.ts';

export interface PhaseOptions {
  /** Load before the window opens: connections warm, queues at their steady length. */
  warmupMs: number;
  measureMs: number;
  /** After the load ends, how long to wait for the window's acknowledgements and deliveries. */
  drainMs: number;
  meter: CpuMeter;
  recorder: LoadRecorder;
  /** Runs the load for `durationMs` (warm-up plus window). */
  load: (durationMs: number) => Promise<unknown>;
  /** Read when the window opens and when it closes (for instance a channel's last_seq); the result has the difference. */
  probe?: () => Promise<number>;
  signal?: AbortSignal;
}

/** One measured window of load. Rates are per second of the window. */
export interface PhaseResult {
  windowMs: number;
  sends: number;
  sendsPerSecond: number;
  acksOk: number;
  acksPerSecond: number;
  ackErrors: Record<string, number>;
  ackLatencyMs: LatencyFigures;
  /** Deliveries that arrived inside the window. */
  deliveries: number;
  deliveriesPerSecond: number;
  receiveLatencyMs: LatencyFigures;
  expectedDeliveries: number;
  /** Deliveries of the window's sends that had not arrived when the drain ended. */
  lostDeliveries: number;
  /** Acknowledgements still missing when the drain ended (sends from the window on). */
  missingAcks: number;
  probeDelta: number;
  cpu: CpuReport;
  /** The load generator's event-loop delay during the window: high means the generator itself was saturated. */
  loadGeneratorLoopDelayMs: { p50: number; p99: number; max: number };
}

// The histogram holds the intervals between ticks of a timer of this period; the delay is what exceeds it.
const LOOP_DELAY_RESOLUTION_MS = 10;

export async function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const { recorder, meter } = options;
  const start = nowMs();
  const from = start + options.warmupMs;
  const to = from + options.measureMs;
  recorder.open(from, to);
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  let probeBefore: Promise<number> | undefined;
  let probeAfter: Promise<number> | undefined;
  const opened = new Promise<CpuSnapshot>((resolve) =>
    setTimeout(() => {
      probeBefore = options.probe?.().catch(() => Number.NaN);
      loopDelay.enable();
      resolve(meter.snapshot());
    }, options.warmupMs),
  );
  const closed = new Promise<CpuSnapshot>((resolve) =>
    setTimeout(() => {
      const snapshot = meter.snapshot();
      loopDelay.disable();
      probeAfter = options.probe?.().catch(() => Number.NaN);
      resolve(snapshot);
    }, options.warmupMs + options.measureMs),
  );
  await options.load(options.warmupMs + options.measureMs);
  const [before, after] = await Promise.all([opened, closed]);
  const drainUntil = performance.now() + options.drainMs;
  while (!recorder.settled && performance.now() < drainUntil) await sleep(20, options.signal);
  options.signal?.throwIfAborted();

  const seconds = options.measureMs / 1000;
  const ms = (ns: number) => Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS);
  return {
    windowMs: options.measureMs,
    sends: recorder.sends,
    sendsPerSecond: recorder.sends / seconds,
    acksOk: recorder.acksOk,
    acksPerSecond: recorder.acksOk / seconds,
    ackErrors: { ...recorder.ackErrors },
    ackLatencyMs: latencyFigures(recorder.ackLatenciesMs),
    deliveries: recorder.deliveriesArrived,
    deliveriesPerSecond: recorder.deliveriesArrived / seconds,
    receiveLatencyMs: latencyFigures(recorder.receiveLatenciesMs),
    expectedDeliveries: recorder.expectedDeliveries,
    lostDeliveries: Math.max(0, recorder.expectedDeliveries - recorder.deliveriesOfWindow),
    missingAcks: recorder.pendingAcks,
    probeDelta: probeBefore && probeAfter ? (await probeAfter) - (await probeBefore) : Number.NaN,
    cpu: meter.report(before, after),
    loadGeneratorLoopDelayMs: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
  };
}

/** Failed acknowledgements, missing ones included. */
export function errorCount(result: PhaseResult): number {
  return Object.values(result.ackErrors).reduce((sum, count) => sum + count, 0) + result.missingAcks;
}

/**
 * Waits until the servers have caught up with everything sent so far: every
 * acknowledgement in and no delivery for `quietMs` (or `maxMs` passed). After
 * an overloaded window the backlog would otherwise spill into the next one.
 */
export async function quiesce(recorder: LoadRecorder, options: { quietMs: number; maxMs: number; signal?: AbortSignal }): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < options.maxMs) {
    if (recorder.outstandingAcks <= 0 && nowMs() - recorder.lastDeliveryAt >= options.quietMs) break;
    await sleep(50, options.signal);
  }
  return performance.now() - started;
}
