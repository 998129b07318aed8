import type { ClientEventName } from '@parley/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventNames } from './support/event-cases.ts';
import { FuzzReport } from './support/fuzz-report.ts';
import { documentedRateLimits, fuzzSettings, runs } from './support/fuzz-settings.ts';
import { hostileValue } from './support/hostile-values.ts';
import { ackProblem, changedTables, tableState } from './support/oracles.ts';
import { RawSocket } from './support/raw-socket.ts';
import { RestWorld } from './support/rest-world.ts';

/**
 * The flood property: every client event, sent again and again by one user,
 * is refused with `rate_limited` (and a `retryAfterMs`) once past its limit,
 * whatever the payload (limits are spent before the payload is parsed). Every
 * documented per-event limit is set to 3 a minute here; an event with no limit
 * at all is still refused within FLOOD_MAX sends.
 */

const LIMIT = '3/1m';
const FLOOD_MAX = 150;
/**
 * Limits that are not per event stay high: HTTP ones (the set-up makes many
 * requests) and per-connection ones (each flood connects anew, and a low
 * any-event limit would answer for every event's own).
 */
const NOT_PER_EVENT = new Set([
  'RATE_LIMIT_AUTH',
  'RATE_LIMIT_COMMUNITY_WRITE',
  'RATE_LIMIT_DISCOVERY',
  'RATE_LIMIT_HANDSHAKE',
  'RATE_LIMIT_SOCKET_EVENTS',
]);

const report = new FuzzReport('rateLimits', fuzzSettings.seed);
let world: RestWorld;

beforeAll(async () => {
  const limits = documentedRateLimits().map((name) => [name, NOT_PER_EVENT.has(name) ? '100000/1m' : LIMIT]);
  world = await RestWorld.start(Object.fromEntries(limits));
}, 60_000);

afterAll(async () => {
  await report.write({ limit: LIMIT, floodMax: FLOOD_MAX });
  await world?.stop();
});

/** A new user's device: rate limits are per user, so each flood starts from a full allowance. */
async function freshDevice(): Promise<RawSocket> {
  const account = await world.freshUser();
  return RawSocket.connect(world.url, { token: account.token, clientInstanceId: 'flooder' });
}

async function flood(event: ClientEventName, payload: unknown, label: string): Promise<void> {
  const device = await freshDevice();
  try {
    for (let sent = 1; sent <= FLOOD_MAX; sent++) {
      const outcome = await device.emit(event, [payload], { ack: true });
      if (outcome.kind !== 'ack') {
        report.fail(event, `no acknowledgement while flooding (${outcome.kind})`, `after ${sent} sends`, `${event} × ${sent} with ${label}`, label);
        return;
      }
      const response = outcome.response as { ok: boolean; error?: { code: string; retryAfterMs?: number } };
      const problem = ackProblem(response);
      if (problem) report.fail(event, problem === 'internal_error' ? 'internal_error' : 'malformed acknowledgement', problem, `${event} with ${label}`, label);
      if (response.error?.code !== 'rate_limited') continue;
      report.count(event, `limited after ${sent - 1}`);
      if (!(typeof response.error.retryAfterMs === 'number' && response.error.retryAfterMs > 0)) {
        report.fail(event, 'rate_limited without retryAfterMs', JSON.stringify(response), `${event} × ${sent} with ${label}`, label);
      }
      // Sends before the limit may have written (a valid payload); one past it must not.
      const before = await tableState(world.node.database);
      await device.emit(event, [payload], { ack: true });
      const changed = changedTables(before, await tableState(world.node.database));
      if (changed.length > 0) report.fail(event, 'rows written by a rate-limited event', changed.join(', '), `${event} with ${label}`, label);
      return;
    }
    report.count(event, `not limited after ${FLOOD_MAX}`);
    report.fail(event, `no rate limit: ${FLOOD_MAX} sends in a row all answered`, `limits set: ${LIMIT}`, `${FLOOD_MAX} × emit(${JSON.stringify(event)}, ${label}) from one user`, label);
  } finally {
    device.close();
  }
}

describe('rate limits hold for every client event', () => {
  it('the gateway handles exactly the events of the fuzz table (a new event needs a fuzz case)', () => {
    expect([...world.node.node.handledEvents].sort()).toEqual([...eventNames].sort());
  });

  it('flooding any event with any payload ends in rate_limited with retryAfterMs', async () => {
    const examples = eventNames.map((event): [ClientEventName, { value: unknown; label: string }] => [event, { value: {}, label: '{}' }]);
    const run = await fc.check(
      fc.asyncProperty(fc.constantFrom(...eventNames), hostileValue, async (event, payload) => {
        await flood(event, payload.value, payload.label);
        return true;
      }),
      { seed: fuzzSettings.seed, numRuns: examples.length + runs(10), examples },
    );
    // A case that threw (its set-up failed) ends the property: that is a failure too.
    expect(run.failed, run.failed ? `${fc.defaultReportMessage(run)}\n${String(run.errorInstance)}\n(seed ${fuzzSettings.seed})` : '').toBe(false);
    const failures = report.failuresOf();
    expect(failures, report.describe(failures)).toEqual([]);
  }, 90_000);
});
