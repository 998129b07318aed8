import { percentile } from './percentiles.ts';

/** Latency in milliseconds, from every sample (nearest rank, as `percentiles.ts`), with the tail to p99.9. */
export interface LatencyFigures {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function latencyFigures(samples: readonly number[]): LatencyFigures {
  // A typed array sorts numerically and fast; the samples can run into the millions.
  const sorted = Array.from(Float64Array.from(samples).sort());
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    count: sorted.length,
    mean: sorted.length > 0 ? total / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** `a ÷ b` as "1.23×", or "–" when either is missing. */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}
