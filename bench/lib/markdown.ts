import { describeEnvironment } from './environment.ts';
import type { RunRecord } from './run-record.ts';
import type { Table } from './scenario.ts';

/** A markdown table padded to line up in a terminal too; number columns align right. */
export function renderTable(table: Table): string {
  const cells = table.rows.map((row) => row.map(formatCell));
  const numeric = table.columns.map((_, column) => table.rows.every((row) => typeof row[column] === 'number'));
  const widths = table.columns.map((title, column) =>
    Math.max(3, title.length, ...cells.map((row) => row[column]?.length ?? 0)),
  );
  const line = (values: string[]) =>
    `| ${values.map((value, column) => (numeric[column] ? value.padStart(widths[column]!) : value.padEnd(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (numeric[column] ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`;
  return [line(table.columns), rule, ...cells.map(line)].join('\n');
}

/** The readable report of one scenario run (the body of its `.md` file). */
export function renderRecord(record: RunRecord, headingLevel = 1): string {
  const h = '#'.repeat(headingLevel);
  const parts = [
    `${h} ${record.scenario}`,
    record.description,
    `Started ${record.startedAt}, took ${(record.durationMs / 1000).toFixed(1)} s. ${describeEnvironment(record.environment)}.`,
  ];
  if (record.outcome === 'failed' || !record.result) {
    parts.push(`**Failed:**\n\n\`\`\`\n${record.error ?? 'no result'}\n\`\`\``);
    return `${parts.join('\n\n')}\n`;
  }
  const { parameters, tables, notes } = record.result;
  parts.push(
    renderTable({
      title: 'Parameters',
      columns: ['parameter', 'value'],
      rows: Object.entries(parameters).map(([name, value]) => [name, String(value)]),
    }),
  );
  for (const table of tables) parts.push(`${h}# ${table.title}`, renderTable(table));
  if (notes.length > 0) parts.push(notes.map((note) => `- ${note}`).join('\n'));
  return `${parts.join('\n\n')}\n`;
}

function formatCell(value: string | number): string {
  if (typeof value === 'string') return value;
  if (Number.isNaN(value)) return '–';
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
