import type { ScheduleLag } from './chat-load.ts';
import { latencyFigures, type LatencyFigures } from './latency-stats.ts';
import { quiesce, runPhase, type PhaseResult } from './load-phase.ts';
import { LoadRecorder } from './load-recorder.ts';
import { percentile } from './percentiles.ts';
import { PostgresActivitySampler, type PostgresActivity } from './postgres-activity.ts';
import type { Seeder } from './seeder.ts';
import { nowMs } from './stamp.ts';
import { runVoiceLoop, seatSteadyState } from './voice-load.ts';
import type { VoiceSession } from './voice-session.ts';
import type { VoiceWire } from './voice-wire.ts';

export interface VoicePhaseOptions {
  /** Seat requests per second. */
  rate: number;
  warmupMs: number;
  measureMs: number;
  holdShare: number;
  ackTimeoutMs: number;
  /** Requests in flight while taking the steady state's seats before the load. */
  seatingConcurrency: number;
  /** Then wait (at most this long) until every acknowledgement is in, the leaves of the last seats included. */
  catchUpMaxMs: number;
  /** Samples what the pods' Postgres connections do (Parley only). */
  seeder?: Seeder;
  signal?: AbortSignal;
}

/**
 * One window of the request → leave cycle. The phase's own figures are the
 * requests', counted once every one was answered: `acksOk` the grants,
 * `ackLatencyMs` request → grant, `ackErrors` the refusals by code (no
 * answer within the ack timeout: `ack_timeout`), `missingAcks` those still
 * unanswered when the catch-up gave up.
 */
export interface VoicePhaseResult extends PhaseResult {
  rate: number;
  /** `ackLatencyMs` with p95. */
  grantLatencyMs: LatencyFigures & { p95: number };
  /** Every request → grant latency of the window, in ms. */
  grantSamplesMs: number[];
  /** The window's leaves, counted once all were answered (a leave not answered in time is an `ack_timeout`). */
  leaves: { ok: number; errors: Record<string, number>; latencyMs: LatencyFigures };
  /** Server → client events (announcements, grants, ownership) the clients received during the window. */
  events: { total: number; perSecond: number; byEvent: Record<string, number> };
  scheduleLag: ScheduleLag;
  /** The seats taken before the load (`seatSteadyState`): how many, the refusals by code, how long it took. */
  seating: { seated: number; refused: Record<string, number>; ms: number };
  /** How long after the drain every acknowledgement was in. */
  catchUpMs: number;
  postgres?: PostgresActivity;
}

/**
 * Seats the users of the steady state, runs the cycle at `rate` for warm-up +
 * window on the session's clients, then waits until the servers have answered
 * everything and every seat is given back.
 */
export async function runVoicePhase(session: VoiceSession, wire: VoiceWire, options: VoicePhaseOptions): Promise<VoicePhaseResult> {
  const requests = new LoadRecorder();
  const leaves = new LoadRecorder();
  let scheduleLag: ScheduleLag = { ticks: 0, p99Ms: Number.NaN, maxMs: Number.NaN };
  const seatingStarted = performance.now();
  const { held, refused } = await seatSteadyState({
    users: session.users,
    wire,
    rate: options.rate,
    holdShare: options.holdShare,
    ackTimeoutMs: options.ackTimeoutMs,
    concurrency: options.seatingConcurrency,
    signal: options.signal,
  });
  const seating = { seated: held.length, refused, ms: performance.now() - seatingStarted };
  const sampler = options.seeder ? PostgresActivitySampler.start(options.seeder) : undefined;
  const result = await runPhase({
    warmupMs: options.warmupMs,
    measureMs: options.measureMs,
    // The catch-up below waits for every answer; the phase's own figures are replaced by what it counted.
    drainMs: 0,
    meter: session.meter,
    recorder: requests,
    signal: options.signal,
    load: async (durationMs) => {
      const start = nowMs();
      leaves.open(start + options.warmupMs, start + durationMs);
      session.events.open(start + options.warmupMs, start + durationMs);
      scheduleLag = await runVoiceLoop({
        users: session.users,
        held,
        wire,
        rate: options.rate,
        durationMs,
        holdShare: options.holdShare,
        ackTimeoutMs: options.ackTimeoutMs,
        requests,
        leaves,
        signal: options.signal,
      });
    },
  }).finally(() => sampler?.stop());
  const postgres = await sampler?.stop();
  const caughtUp = { quietMs: 0, maxMs: options.catchUpMaxMs, signal: options.signal };
  const catchUpMs = (await quiesce(requests, caughtUp)) + (await quiesce(leaves, caughtUp));

  // Late answers are real (slow) grants: the figures are taken after the catch-up, not at the end of the drain.
  const samples = requests.ackLatenciesMs;
  const sorted = Array.from(Float64Array.from(samples).sort());
  const grantLatencyMs = latencyFigures(samples);
  return {
    ...result,
    acksOk: requests.acksOk,
    acksPerSecond: requests.acksOk / (options.measureMs / 1000),
    ackErrors: { ...requests.ackErrors },
    ackLatencyMs: grantLatencyMs,
    missingAcks: requests.pendingAcks,
    rate: options.rate,
    grantLatencyMs: { ...grantLatencyMs, p95: percentile(sorted, 95) },
    grantSamplesMs: samples.map((ms) => Math.round(ms * 100) / 100),
    leaves: { ok: leaves.acksOk, errors: { ...leaves.ackErrors }, latencyMs: latencyFigures(leaves.ackLatenciesMs) },
    events: { total: session.events.total, perSecond: session.events.total / (options.measureMs / 1000), byEvent: { ...session.events.byEvent } },
    scheduleLag,
    seating,
    catchUpMs,
    ...(postgres ? { postgres } : {}),
  };
}
