import type { Database } from '@parley/db';
import { sql } from 'kysely';
import { objectKeys } from '../../../src/domain/media/object-keys.ts';
import { bucketChanges, type Bucket } from './bucket.ts';

/** The files table (id → the row as text) and the bucket (key → size), side by side. */
export interface StorageState {
  rows: Map<string, { status: string; size: number; text: string }>;
  objects: Map<string, number>;
}

export async function storageState(database: Database, bucket: Bucket): Promise<StorageState> {
  const [result, objects] = await Promise.all([
    sql<{ id: string; status: string; size: string; text: string }>`select id, status, size, t::text as text from files t`.execute(database.db),
    bucket.objects(),
  ]);
  return { rows: new Map(result.rows.map((row) => [row.id, { status: row.status, size: Number(row.size), text: row.text }])), objects };
}

/**
 * What a refused request changed in storage. Nothing may change, except
 * where `removable` names the pending upload the request was about and the
 * route documents that a refusal removes it: then its row and its object may
 * go, and nothing else.
 */
export function refusedStorageProblems(before: StorageState, after: StorageState, removable: string | undefined): string[] {
  const problems: string[] = [];
  const rowsAdded = [...after.rows.keys()].filter((id) => !before.rows.has(id));
  const rowsChanged = [...after.rows.keys()].filter((id) => before.rows.has(id) && before.rows.get(id)!.text !== after.rows.get(id)!.text);
  const rowsRemoved = [...before.rows.keys()].filter((id) => !after.rows.has(id) && id !== removable);
  if (rowsAdded.length > 0) problems.push(`files rows added: ${rowsAdded.join(', ')}`);
  if (rowsChanged.length > 0) {
    const changes = rowsChanged.map((id) => `${id}: ${before.rows.get(id)!.text} → ${after.rows.get(id)!.text}`);
    problems.push(`files rows changed: ${changes.join('; ')}`);
  }
  if (rowsRemoved.length > 0) problems.push(`files rows removed: ${rowsRemoved.join(', ')}`);
  const objects = bucketChanges(before.objects, after.objects);
  const removableKey = removable === undefined ? undefined : objectKeys.original(removable);
  const objectsRemoved = objects.removed.filter((key) => key !== removableKey);
  if (objects.added.length > 0) problems.push(`objects left in the bucket: ${objects.added.join(', ')}`);
  if (objects.resized.length > 0) problems.push(`objects rewritten: ${objects.resized.join(', ')}`);
  if (objectsRemoved.length > 0) problems.push(`objects removed: ${objectsRemoved.join(', ')}`);
  if (removable !== undefined && removableKey !== undefined && after.rows.has(removable) !== true && after.objects.has(removableKey)) {
    problems.push(`the row of ${removable} was removed but its object ${removableKey} was left`);
  }
  return problems;
}

/**
 * Storage that disagrees with itself: an object in the bucket without a
 * files row (an upload refused or cut off but kept), or a stored file
 * (not pending) whose object is missing or of another size.
 */
export function inconsistencies(state: StorageState): string[] {
  const problems: string[] = [];
  const keyOf = new Map([...state.rows.keys()].map((id) => [objectKeys.original(id), id]));
  for (const key of state.objects.keys()) {
    if (!keyOf.has(key)) problems.push(`object ${key} has no files row`);
  }
  for (const [id, row] of state.rows) {
    if (row.status === 'pending') continue;
    const size = state.objects.get(objectKeys.original(id));
    if (size === undefined) problems.push(`${row.status} file ${id} has no object`);
    else if (size !== row.size) problems.push(`file ${id} is ${row.size} bytes, its object ${size}`);
  }
  return problems;
}

/** The inconsistencies of `after` that `before` did not have. */
export function newInconsistencies(before: StorageState, after: StorageState): string[] {
  const old = new Set(inconsistencies(before));
  return inconsistencies(after).filter((problem) => !old.has(problem));
}

// Controls, bidi embeddings, overrides and isolates, zero-width and other invisible format characters.
const UNSAFE = /[\p{Cc}\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u;
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** What is wrong with a file name the server answered with, if anything (see docs/protocol.md, `FileInfo.name`). */
export function fileNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `name is ${JSON.stringify(name)}`;
  const shown = JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
  if (name.length === 0) return 'the name is empty';
  if (name.length > 255) return `the name has ${name.length} characters ${shown}`;
  if (UNSAFE.test(name)) return `the name keeps a control, bidi or invisible character: ${shown}`;
  if (LONE_SURROGATE.test(name)) return `the name keeps a lone surrogate: ${shown}`;
  if (/[/\\]/.test(name)) return `the name keeps a path separator: ${shown}`;
  return undefined;
}

const DISPOSITION = /^(?:inline|attachment); filename="([^"]*)"; filename\*=UTF-8''([\w!#$&+.^`|~%-]*)$/;

/**
 * What is wrong with a download's `Content-Disposition`, if anything: it
 * must be `attachment` or `inline` with a quoted ASCII name and an RFC 8187
 * UTF-8 name, neither of them a path nor able to end the header.
 */
export function dispositionProblem(header: string | null | undefined): string | undefined {
  if (!header) return 'the download has no Content-Disposition';
  const match = DISPOSITION.exec(header);
  if (!match) return `Content-Disposition ${JSON.stringify(header.slice(0, 160))} is not \`attachment|inline; filename="…"; filename*=UTF-8''…\``;
  const [, ascii = '', encoded = ''] = match;
  if (/[^\x20-\x7e]|[/\\]/.test(ascii)) return `the ASCII file name in ${JSON.stringify(header.slice(0, 160))} keeps a path separator or a byte past ASCII`;
  try {
    const problem = fileNameProblem(decodeURIComponent(encoded));
    return problem && `filename* of ${JSON.stringify(header.slice(0, 160))}: ${problem}`;
  } catch {
    return `filename* of ${JSON.stringify(header.slice(0, 160))} is not percent-encoded UTF-8`;
  }
}

/**
 * What is wrong with a download the pod answered with: a redirect must lead
 * to the bucket's own endpoint, and there to the bytes; the bytes (streamed
 * or from the store) must carry a safe `Content-Disposition`.
 */
export async function downloadProblems(response: { status: number; headers: Record<string, string> }, storeEndpoint: string): Promise<string[]> {
  if (response.status === 200) {
    const problem = dispositionProblem(response.headers['content-disposition']);
    return problem ? [problem] : [];
  }
  if (response.status !== 302) return [];
  const location = response.headers.location ?? '';
  if (!URL.canParse(location) || new URL(location).origin !== new URL(storeEndpoint).origin) return [`redirected to ${JSON.stringify(location.slice(0, 120))}, not to the store`];
  const stored = await fetch(location);
  await stored.arrayBuffer();
  if (stored.status !== 200) return [`the store answered the redirect with ${stored.status}`];
  const problem = dispositionProblem(stored.headers.get('content-disposition'));
  return problem ? [`from the store: ${problem}`] : [];
}

/** Every `FileInfo` in a response body: the body itself, or its `file`. */
export function fileInfosIn(body: unknown): Array<{ name?: unknown }> {
  if (body === null || typeof body !== 'object') return [];
  const record = body as { name?: unknown; file?: unknown; contentType?: unknown };
  if ('contentType' in record && 'name' in record) return [record];
  return record.file && typeof record.file === 'object' ? [record.file as { name?: unknown }] : [];
}
