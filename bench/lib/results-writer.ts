import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderRecord } from './markdown.ts';
import type { RunRecord } from './run-record.ts';

export interface WrittenRun {
  record: RunRecord;
  /** File names inside the results directory. */
  json: string;
  markdown: string;
}

/** Writes `<scenario>-<timestamp>.json` and `.md` into `dir`. */
export async function writeRunRecord(dir: string, record: RunRecord): Promise<WrittenRun> {
  await mkdir(dir, { recursive: true });
  const base = `${record.scenario}-${compactTimestamp(record.startedAt)}`;
  const written = { record, json: `${base}.json`, markdown: `${base}.md` };
  await writeAtomically(path.join(dir, written.json), `${JSON.stringify(record, null, 2)}\n`);
  await writeAtomically(path.join(dir, written.markdown), renderRecord(record));
  return written;
}

/** Replaces `latest.md` with a summary of this run's scenarios, linking their files. */
export async function writeLatest(dir: string, runs: readonly WrittenRun[]): Promise<void> {
  const sections = runs.map(
    (run) => `${renderRecord(run.record, 2).trimEnd()}\n\nFiles: [${run.json}](${run.json}), [${run.markdown}](${run.markdown})`,
  );
  const outcome = runs.map((run) => `${run.record.scenario} ${run.record.outcome}`).join(', ');
  await writeAtomically(path.join(dir, 'latest.md'), `# Last benchmark run\n\n${outcome}.\n\n${sections.join('\n\n')}\n`);
}

/** ISO 8601 basic format (`20250102T030405Z`): sortable and safe in file names. */
function compactTimestamp(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

// A reader never sees half a file; an interrupted write leaves only a .tmp (ignored by git).
async function writeAtomically(file: string, content: string): Promise<void> {
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
}
