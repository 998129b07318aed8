import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Database } from '@parley/db';
import type { ChatClient } from './chat-load.ts';
import type { PodLogSummary } from './pod-log-book.ts';

export interface StoredMessage {
  id: string;
  seq: number;
  text: string;
}

/** The channel's stored stream, in seq order. */
export async function readStoredStream(database: Database, channelId: string): Promise<StoredMessage[]> {
  return database.db
    .selectFrom('messages')
    .select(['id', 'seq', 'text'])
    .where('channel_id', '=', channelId)
    .orderBy('seq')
    .execute();
}

/** The channel's newest seq, as the database has it. */
export async function readLastSeq(database: Database, channelId: string): Promise<number> {
  const row = await database.db.selectFrom('channels').select('last_seq').where('id', '=', channelId).executeTakeFirstOrThrow();
  return row.last_seq;
}

/** What a scenario measured; written to test-results/fault/<scenario>.json. */
export interface FaultFigures {
  scenario: string;
  clients: number;
  /** Sends acknowledged to their client. */
  acknowledged: number;
  /** Acknowledged, but not stored, or not delivered to every client. */
  lost: number;
  /** Stored twice (same text in two rows), or delivered twice to one client. */
  duplicated: number;
  /** Seqs missing from 1..last among stored rows, plus seqs stored twice. */
  seqGaps: number;
  /** Summed over clients: stored messages a client was not delivered, delivered ones not stored, and order breaks. */
  deliveryGaps: number;
  /** Sends that threw after the session's retries, plus sends still unanswered at the end. */
  failures: number;
  /**
   * From the dependency coming back (for a pod fault or the storm: from the
   * fault) until every client was connected and caught up; null: not within the bound.
   */
  recoveryMs: number | null;
  recoveryBoundMs: number;
  /** Acks that arrived inside the fault window (after `faultAckFromMs` into it). */
  acksDuringFault: number;
  /** Acks that arrived after the dependency came back. */
  acksAfterRecovery: number;
  stored: number;
  /** Stored without an acknowledgement (a send whose answer was lost and that was not retried to the end). */
  storedUnacknowledged: number;
  faultMs: number;
  disconnects: number;
  disconnectReasons: Record<string, number>;
  connectErrors: Record<string, number>;
  failureCodes: Record<string, number>;
  strandedClients: number;
  resyncs: number;
  /** Anything scenario-specific (the storm's socket counts). */
  extra?: Record<string, unknown>;
  podLog: PodLogSummary[];
}

export type MeasuredFigures = Pick<
  FaultFigures,
  'scenario' | 'recoveryMs' | 'recoveryBoundMs' | 'acksDuringFault' | 'acksAfterRecovery' | 'faultMs' | 'strandedClients' | 'podLog'
> & {
  unanswered: number;
  extra?: Record<string, unknown>;
};

/** Compares what was acknowledged, stored and delivered. */
export function account(clients: ChatClient[], stored: StoredMessage[], measured: MeasuredFigures): FaultFigures {
  const storedIds = new Set(stored.map((row) => row.id));
  const acknowledgedIds = clients.flatMap((client) => client.acknowledged.map((ack) => ack.message.id));
  const deliveredSets = clients.map((client) => new Set(client.delivered.map((message) => message.id)));

  const lost = new Set(acknowledgedIds.filter((id) => !storedIds.has(id) || deliveredSets.some((set) => !set.has(id)))).size;

  const storedTwice = stored.length - new Set(stored.map((row) => row.text)).size;
  const deliveredTwice = clients.reduce((sum, client, i) => sum + client.delivered.length - deliveredSets[i]!.size, 0);
  const acknowledgedTwice = acknowledgedIds.length - new Set(acknowledgedIds).size;

  const seqs = stored.map((row) => row.seq);
  const last = seqs.length === 0 ? 0 : Math.max(...seqs);
  const distinctSeqs = new Set(seqs);
  const seqGaps = last - distinctSeqs.size + (seqs.length - distinctSeqs.size);

  const storedOrder = stored.map((row) => row.id);
  let deliveryGaps = 0;
  for (const [i, client] of clients.entries()) {
    const delivered = deliveredSets[i]!;
    deliveryGaps += storedOrder.filter((id) => !delivered.has(id)).length;
    deliveryGaps += [...delivered].filter((id) => !storedIds.has(id)).length;
    const inStoredOrder = storedOrder.filter((id) => delivered.has(id));
    const deliveredOrder = [...new Set(client.delivered.map((message) => message.id))].filter((id) => storedIds.has(id));
    deliveryGaps += inStoredOrder.filter((id, at) => deliveredOrder[at] !== id).length;
  }

  const failures = clients.flatMap((client) => client.failures);
  const acknowledgedSet = new Set(acknowledgedIds);
  return {
    scenario: measured.scenario,
    clients: clients.length,
    acknowledged: acknowledgedIds.length,
    lost,
    duplicated: storedTwice + deliveredTwice + acknowledgedTwice,
    seqGaps,
    deliveryGaps,
    failures: failures.length + measured.unanswered,
    recoveryMs: measured.recoveryMs,
    recoveryBoundMs: measured.recoveryBoundMs,
    acksDuringFault: measured.acksDuringFault,
    acksAfterRecovery: measured.acksAfterRecovery,
    stored: stored.length,
    storedUnacknowledged: stored.filter((row) => !acknowledgedSet.has(row.id)).length,
    faultMs: measured.faultMs,
    disconnects: clients.reduce((sum, client) => sum + client.disconnects.length, 0),
    disconnectReasons: countBy(clients.flatMap((client) => client.disconnects.map((event) => event.reason))),
    connectErrors: countBy(clients.flatMap((client) => client.connectErrors.map((error) => error.code))),
    failureCodes: countBy(failures.map((failure) => failure.code)),
    strandedClients: measured.strandedClients,
    resyncs: clients.reduce((sum, client) => sum + client.resyncs, 0),
    ...(measured.extra ? { extra: measured.extra } : {}),
    podLog: measured.podLog,
  };
}

const resultsDir = path.resolve(import.meta.dirname, '../../../../test-results/fault');

/** Writes the figures to test-results/fault/<scenario>.json and logs one summary line. */
export function report(figures: FaultFigures): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(path.join(resultsDir, `${figures.scenario}.json`), `${JSON.stringify(figures, null, 2)}\n`);
  const { scenario, acknowledged, lost, duplicated, seqGaps, deliveryGaps, failures, recoveryMs, acksDuringFault } = figures;
  process.stdout.write(
    `[fault] ${scenario}: acknowledged=${acknowledged} lost=${lost} duplicated=${duplicated} seqGaps=${seqGaps} ` +
      `deliveryGaps=${deliveryGaps} failures=${failures} recoveryMs=${recoveryMs ?? 'none'} acksDuringFault=${acksDuringFault}` +
      ` stranded=${figures.strandedClients}` +
      (figures.extra ? ` ${Object.entries(figures.extra).map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(' ')}` : '') +
      '\n',
  );
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
