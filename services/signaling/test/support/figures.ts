import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const resultsRoot = path.resolve(import.meta.dirname, '../../../../test-results');

/**
 * Writes what a test measured (counts, latencies, memory) to
 * `test-results/<tier>/<name>.json`, beside vitest's own report, so that a
 * run's figures can be read and quoted without parsing its output.
 */
export function recordFigures(tier: string, name: string, figures: object): void {
  const directory = path.join(resultsRoot, tier);
  mkdirSync(directory, { recursive: true });
  writeFileSync(path.join(directory, `${name}.json`), `${JSON.stringify(figures, null, 2)}\n`);
}
