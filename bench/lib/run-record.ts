import type { EnvironmentInfo } from './environment.ts';
import type { ScenarioResult } from './scenario.ts';

/** One scenario's run as written to `bench/results/<scenario>-<timestamp>.json`. */
export interface RunRecord {
  scenario: string;
  description: string;
  /** ISO 8601. */
  startedAt: string;
  durationMs: number;
  environment: EnvironmentInfo;
  outcome: 'ok' | 'failed';
  /** Set when `outcome` is `failed`. */
  error?: string;
  /** Set when `outcome` is `ok`. */
  result?: ScenarioResult;
}
