import { summarize, type LatencySummary } from './percentiles.ts';

/** Latency in milliseconds, from every sample (nearest rank), with the tail to p99.9: the summary of `percentiles.ts`. */
export type LatencyFigures = LatencySummary;
export const latencyFigures = summarize;

/** `a ÷ b` as "1.23×", or "–" when either is missing. */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}
