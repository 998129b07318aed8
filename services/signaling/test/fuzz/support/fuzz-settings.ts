import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * How much the fuzz tier runs. `FUZZ_SEED` replays a run (the seed is printed
 * with every failure and kept in test-results/fuzz-report.json);
 * `FUZZ_RUNS_SCALE` multiplies every property's number of runs (default 1,
 * sized for the whole tier to stay under two minutes on two cores).
 */
export const fuzzSettings = {
  seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31),
  scale: process.env.FUZZ_RUNS_SCALE ? Number(process.env.FUZZ_RUNS_SCALE) : 1,
};

/** A property's number of random runs, scaled. */
export function runs(base: number): number {
  return Math.max(1, Math.round(base * fuzzSettings.scale));
}

const repoRoot = path.resolve(import.meta.dirname, '../../../../..');

/**
 * Every `RATE_LIMIT_*` limit (a `<points>/<duration>` default) the README's configuration table documents:
 * a new limit is raised (or lowered) here too. (`RATE_LIMIT_SYNC_INTERVAL_MS` is a setting, not a limit.)
 */
export function documentedRateLimits(): string[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  return [...new Set([...readme.matchAll(/^\| `(RATE_LIMIT_[A-Z_]+)` \| `\d+\/\d+[smh]?` \|/gm)].map((match) => match[1]!))];
}

/** The protocol document, for the lists of events and routes every fuzz table must cover. */
export function protocolDoc(): string {
  return readFileSync(path.join(repoRoot, 'docs/protocol.md'), 'utf8');
}
