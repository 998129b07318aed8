import type { ClientEventName } from '@parley/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventCases, eventNames, schemaVerdict } from './support/event-cases.ts';
import { EventWorld } from './support/event-world.ts';
import { FuzzReport } from './support/fuzz-report.ts';
import { documentedRateLimits, fuzzSettings, protocolDoc, runs } from './support/fuzz-settings.ts';
import { deepLadder, everyStringPoisoned, mutate, mutation, type Mutation } from './support/mutations.ts';
import { ackProblem, changedTables, isBadLogLine, summariseLogLine, tableState } from './support/oracles.ts';
import { fromWireJson, toWireJson } from './support/wire-json.ts';

/**
 * Every client→server event, over real sockets to three real pods, with
 * generated hostile payloads. A case must not stop a pod or log an error on
 * any pod (the relays of `account_sync` and chat are decoded by the other
 * two), must be answered `{ ok: true }` or with a catalogue error other than
 * `internal_error`, and a refused case must write nothing.
 */

const RANDOM_RUNS = runs(30);
/** After this many cases that stopped a pod, an event's remaining cases are skipped (each costs restarting pods). */
const MAX_CRASHES_PER_EVENT = 2;
const PROPERTY_BUDGET_MS = 15_000;

const report = new FuzzReport('socketEvents', fuzzSettings.seed);
let world: EventWorld;

beforeAll(async () => {
  // Limits high enough that they never hide a case; rate-limits.fuzz.test.ts floods them.
  const env = Object.fromEntries(documentedRateLimits().map((name) => [name, '100000/10s']));
  world = await EventWorld.start({ ...env, SFU_PUBLIC_HOST: 'ws://127.0.0.1:9' });
}, 120_000);

afterAll(async () => {
  await report.write({ randomRunsPerEvent: RANDOM_RUNS, pods: 3 });
  await world?.stop();
});

interface EventFuzzCase {
  mutation: Mutation;
  pod: number;
  /** The payload alone, no argument at all, or the payload followed by three more. */
  arity: 'one' | 'none' | 'several';
  ack: boolean;
}

const fuzzCase: fc.Arbitrary<EventFuzzCase> = fc.record({
  mutation,
  pod: fc.integer({ min: 0, max: 2 }),
  arity: fc.oneof({ arbitrary: fc.constant('one' as const), weight: 8 }, fc.constant('none' as const), fc.constant('several' as const)),
  ack: fc.oneof({ arbitrary: fc.constant(true), weight: 6 }, fc.constant(false)),
});

/** A payload that the Socket.IO decoder itself may refuse (closing the connection), as it refuses an oversized frame. */
const decoderMayRefuse = (label: string) => /nested \d+ deep|wrapped 1,500|forged placeholder out of range/.test(label);

async function runCase(event: ClientEventName, fuzz: EventFuzzCase): Promise<void> {
  const spec = eventCases[event] as (typeof eventCases)['account_sync'];
  await world.heal();
  const context = world.context(fuzz.pod);
  await spec.prepare?.(context);
  const { payload, label } = mutate(await spec.sample(context), fuzz.mutation);
  const args = fuzz.arity === 'none' ? [] : fuzz.arity === 'one' ? [payload] : [payload, { extra: true }, 'second', Buffer.from('third')];
  const wire = toWireJson(args[0]);
  let verdict: ReturnType<typeof schemaVerdict> = 'unknown';
  try {
    verdict = schemaVerdict(spec.schema, fuzz.arity === 'none' ? undefined : fromWireJson(wire));
  } catch {
    // Too deep for this process's JSON.parse: no local verdict.
  }
  const reproduction =
    `emit(${JSON.stringify(event)}, ${label}${fuzz.arity === 'several' ? ', +3 arguments' : fuzz.arity === 'none' ? ' [no argument sent]' : ''})` +
    ` from pod ${fuzz.pod}${fuzz.ack ? '' : ' without an ack'}; wire: ${wire.text.length > 240 ? `${wire.text.slice(0, 240)}… (${wire.text.length} chars)` : wire.text}` +
    (wire.attachments.length > 0 ? ` + ${wire.attachments.length} binary attachment(s)` : '');
  const fail = (kind: string, detail: string) => report.fail(event, kind, detail, reproduction, label);

  const before = await tableState(world.db);
  const mark = world.logMark();
  const outcome = await world.device(fuzz.pod).emit(event, args, { ack: fuzz.ack, timeoutMs: 10_000 });
  const barrierProblem = await world.barrier(fuzz.pod);
  const exited = world.exitedPods();
  const badLines = world.linesSince(mark).filter(({ line }) => isBadLogLine(line));
  const after = await tableState(world.db);

  let refused = verdict === 'invalid';
  if (outcome.kind === 'ack') {
    const response = outcome.response as { ok?: boolean; error?: { code?: string } };
    const problem = ackProblem(response);
    report.count(event, response.ok ? 'accepted' : `refused:${response.error?.code}`);
    if (problem === 'internal_error') fail('internal_error', JSON.stringify(response));
    else if (problem) fail('malformed acknowledgement', problem);
    if (response.ok === true && verdict === 'invalid') fail('accepted a payload its protocol schema refuses', JSON.stringify(response).slice(0, 300));
    refused ||= response.ok === false;
  } else {
    report.count(event, outcome.kind === 'sent' ? 'sent without ack' : outcome.kind);
    if (outcome.kind === 'timeout') fail('no acknowledgement within 10 s', 'timeout');
    if (outcome.kind === 'closed' && !decoderMayRefuse(label)) fail('connection closed by the server', outcome.reason);
  }
  for (const pod of exited) {
    const last = world.lines[pod]!.filter(isBadLogLine).at(-1);
    fail('pod exited', `pod ${pod}: ${last ? summariseLogLine(last) : 'no error line'}`);
  }
  const seen = new Set<string>();
  for (const { pod, line } of badLines) {
    const summary = summariseLogLine(line);
    if (seen.has(summary)) continue;
    seen.add(summary);
    fail(`error logged: ${summary.replace(/\(at .*\)$/, '').slice(0, 140)}`, `pod ${pod}: ${summary}`);
  }
  if (barrierProblem && exited.length === 0) fail('relay to the other pods stalled', barrierProblem);
  const changed = changedTables(before, after);
  if (refused && changed.length > 0) fail('rows written by a refused event', changed.join(', '));
}

describe('every client event, fuzzed over three pods', () => {
  it('covers exactly the client events of the protocol document', () => {
    const documented = [...protocolDoc().matchAll(/^### `([^`]+)` \(client → server\)$/gm)].map((match) => match[1]!);
    const relayed = ['offer', 'answer', 'renegotiate', 'ice_candidate'];
    expect([...documented, ...relayed].sort()).toEqual([...eventNames].sort());
  });

  it.each(eventNames)('%s: hostile payloads are refused cleanly on every pod', async (event) => {
    // The previous event's last case may have closed a device (a payload the decoder refuses closes its connection).
    await world.heal();
    const sample = await eventCases[event].sample(world.context(0));
    const examples = [
      ...everyStringPoisoned(sample),
      ...deepLadder(),
    ].map((change, index): [EventFuzzCase] => [{ mutation: change, pod: index % 3, arity: 'one', ack: true }]);
    const deadline = Date.now() + PROPERTY_BUDGET_MS;
    let crashes = 0;
    const run = await fc.check(
      fc.asyncProperty(fuzzCase, async (fuzz) => {
        if (Date.now() > deadline || crashes >= MAX_CRASHES_PER_EVENT) {
          report.count(event, 'skipped (time or crash budget spent)');
          return true;
        }
        await runCase(event, fuzz);
        if (world.exitedPods().length > 0) crashes++;
        return true;
      }),
      { seed: fuzzSettings.seed, numRuns: RANDOM_RUNS + examples.length, examples },
    );
    // A case that threw (its set-up failed) ends the property: that is a failure too.
    expect(run.failed, run.failed ? `${fc.defaultReportMessage(run)}\n${String(run.errorInstance)}\n(seed ${fuzzSettings.seed})` : '').toBe(false);
    const failures = report.failuresOf(event);
    expect(failures, report.describe(failures)).toEqual([]);
  }, 90_000);

  it('leaves every pod running and answering /health', async () => {
    for (const pod of world.cluster.pods) {
      expect(pod.running, `pod ${pod.index} is running`).toBe(true);
      const response = await fetch(`${pod.url}/health`);
      expect(response.status).toBe(200);
    }
    expect(report.failuresOf().filter((entry) => entry.kind === 'pod exited'), report.describe(report.failuresOf())).toEqual([]);
  });
});
