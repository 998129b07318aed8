import path from 'node:path';
import { environmentInfo } from '../bench/lib/environment.ts';
import { renderRecord } from '../bench/lib/markdown.ts';
import { writeLatest, writeRunRecord, type WrittenRun } from '../bench/lib/results-writer.ts';
import type { RunRecord } from '../bench/lib/run-record.ts';
import type { Scenario } from '../bench/lib/scenario.ts';
import { busyChannel } from '../bench/scenarios/busy-channel.ts';
import { fanout } from '../bench/scenarios/fanout.ts';
import { idle } from '../bench/scenarios/idle.ts';
import { joins } from '../bench/scenarios/joins.ts';
import { login } from '../bench/scenarios/login.ts';
import { media } from '../bench/scenarios/media.ts';
import { voice } from '../bench/scenarios/voice.ts';

// npm run bench [-- <scenario>...]: runs the named scenarios (default: all),
// writes bench/results/<scenario>-<timestamp>.json and .md and latest.md, and
// prints each report on stdout. Progress goes to stderr. See bench/README.md.

const scenarios: readonly Scenario[] = [login, fanout, busyChannel, joins, idle, voice, media];
const resultsDir = path.resolve(import.meta.dirname, '../bench/results');

const log = (line: string) => process.stderr.write(`${line}\n`);

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !scenarios.some((scenario) => scenario.name === name));
if (unknown.length > 0) {
  log(`Unknown scenario: ${unknown.join(', ')}. Available:`);
  for (const scenario of scenarios) log(`  ${scenario.name.padEnd(12)} ${scenario.description}`);
  process.exit(2);
}
const selected = requested.length > 0 ? scenarios.filter((scenario) => requested.includes(scenario.name)) : scenarios;

// The first Ctrl-C stops the load and lets the scenario clean up; the second exits at once.
const interrupted = new AbortController();
process.on('SIGINT', () => {
  if (interrupted.signal.aborted) process.exit(130);
  log('Interrupted: stopping the load and cleaning up (Ctrl-C again to quit now)');
  interrupted.abort(new Error('interrupted'));
});

const environment = environmentInfo();
const runs: WrittenRun[] = [];
for (const scenario of selected) {
  if (interrupted.signal.aborted) break;
  log(`▶ ${scenario.name}`);
  const startedAt = new Date();
  const started = performance.now();
  let outcome: Pick<RunRecord, 'outcome' | 'result' | 'error'>;
  try {
    const result = await scenario.run({ log: (line) => log(`  ${scenario.name}: ${line}`), signal: interrupted.signal });
    outcome = { outcome: 'ok', result };
  } catch (error) {
    outcome = { outcome: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  const record: RunRecord = {
    scenario: scenario.name,
    description: scenario.description,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - started,
    environment,
    ...outcome,
  };
  const written = await writeRunRecord(resultsDir, record);
  runs.push(written);
  log(`  ${scenario.name}: ${record.outcome}, written to bench/results/${written.json} and .md`);
  process.stdout.write(`\n${renderRecord(record)}\n`);
}
await writeLatest(resultsDir, runs);

// Pods, Postgres and Redis are stopped by now; exit even if a client library keeps a handle open.
process.exit(runs.every((run) => run.record.outcome === 'ok') && !interrupted.signal.aborted ? 0 : 1);
