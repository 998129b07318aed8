import type { Database, DB } from '@parley/db';
import { errorCatalogue, httpStatusOf, isErrorCode } from '@parley/protocol';
import { sql } from 'kysely';

/**
 * Every table, and whether a refused request must leave it untouched. Typed
 * by the schema, so a new table must be listed here. `server_activity` is
 * flushed on a timer after accepted messages, so it changes between requests
 * by design; `signing_keys` rotate on their own.
 */
const watchedTables: Record<keyof DB, boolean> = {
  users: true,
  sessions: true,
  oidc_identities: true,
  device_tokens: true,
  servers: true,
  channels: true,
  members: true,
  messages: true,
  roles: true,
  member_roles: true,
  channel_overrides: true,
  invites: true,
  bans: true,
  join_requests: true,
  audit_log: true,
  server_activity: false,
  files: true,
  message_attachments: true,
  message_reactions: true,
  signing_keys: false,
  user_blocks: true,
};

/** Row count and a digest of every row, per watched table: any insert, update or delete changes it. */
export type TableState = Record<string, string>;

export async function tableState(database: Database): Promise<TableState> {
  const tables = Object.entries(watchedTables).flatMap(([table, watched]) => (watched ? [table] : []));
  const selects = tables.map(
    (table) =>
      sql<{ name: string; state: string }>`select ${table} as name, count(*) || ':' || md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as state from ${sql.table(table)} t`,
  );
  const result = await sql<{ name: string; state: string }>`${sql.join(selects, sql` union all `)}`.execute(database.db);
  return Object.fromEntries(result.rows.map((row) => [row.name, row.state]));
}

/** The tables whose rows differ, with their row counts before and after. */
export function changedTables(before: TableState, after: TableState): string[] {
  return Object.keys(before).flatMap((table) => {
    if (before[table] === after[table]) return [];
    const count = (state: string | undefined) => state?.split(':')[0];
    return [`${table} (${count(before[table])} → ${count(after[table])} rows)`];
  });
}

/** What is wrong with an error body `{ code, message, ... }`, if anything. */
export function errorBodyProblem(error: unknown, status?: number): string | undefined {
  if (error === null || typeof error !== 'object') return `error is ${JSON.stringify(error)}, not an object`;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (!isErrorCode(code)) return `error code ${JSON.stringify(code)} is not in the catalogue`;
  if (code === 'internal_error') return 'internal_error';
  if (typeof message !== 'string' || message.length === 0) return `error ${code} has no message`;
  if (status !== undefined && httpStatusOf(code) !== status) {
    return `status ${status} does not match ${code} (catalogue: ${errorCatalogue[code].status})`;
  }
  return undefined;
}

/** What is wrong with an acknowledgement, if anything: it must be `{ ok: true, ... }` or `{ ok: false, error }`. */
export function ackProblem(response: unknown): string | undefined {
  if (response === null || typeof response !== 'object' || Array.isArray(response)) {
    return `acknowledgement ${JSON.stringify(response)} is not an object`;
  }
  const { ok, error } = response as { ok?: unknown; error?: unknown };
  if (ok === true) return undefined;
  if (ok !== false) return `acknowledgement has ok = ${JSON.stringify(ok)}`;
  return errorBodyProblem(error);
}

const CRASH_MESSAGES = new Set(['uncaught exception', 'unhandled promise rejection']);

/** A pod's log line that means a bug: level error or fatal, or a crash handler's message. */
export function isBadLogLine(line: string): boolean {
  try {
    const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
    return (typeof entry.level === 'number' && entry.level >= 50) || CRASH_MESSAGES.has(String(entry.msg));
  } catch {
    // Not JSON: something wrote around the logger (a crash trace on stderr).
    return line.trim().length > 0;
  }
}

/** A log line shortened for a report: level, message, error type and message, first stack frame. */
export function summariseLogLine(line: string): string {
  try {
    const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { type?: string; message?: string; stack?: string }; event?: string };
    const frame = entry.err?.stack?.split('\n').find((text) => text.trim().startsWith('at '))?.trim();
    const err = entry.err ? ` ${entry.err.type}: ${entry.err.message?.slice(0, 160)}${frame ? ` (${frame.slice(0, 160)})` : ''}` : '';
    return `level ${entry.level} "${entry.msg}"${entry.event ? ` event=${entry.event}` : ''}${err}`;
  } catch {
    return line.slice(0, 240);
  }
}
