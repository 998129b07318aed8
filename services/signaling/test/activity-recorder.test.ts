import { sql } from 'kysely';
import type { Database } from '@parley/db';
import { createTestDatabase, type TestDatabase } from '@parley/testkit/vitest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, type DatabaseUnderTest } from './support/databases.ts';
import { eventually } from './support/users.ts';
import type { Clock } from '../src/clock.ts';
import { ActivityRecorder, MAX_PENDING_ACTIVITY } from '../src/domain/discovery/activity-recorder.ts';
import { Store } from '../src/domain/store.ts';
import { createLogger } from '../src/logger.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T10:00:00Z');

/** A clock the test moves by hand. */
function manualClock(start = T0): Clock & { set(ms: number): void } {
  let now = start;
  return { now: () => new Date(now), set: (ms) => (now = ms) };
}

/** A logger whose lines the test can read. */
function recordingLogger() {
  const lines: Array<{ level: number; msg: string; dropped?: number }> = [];
  const logger = createLogger({
    level: 'warn',
    format: 'json',
    nodeId: 'test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { logger, warnings: () => lines.filter((line) => line.level === 40) };
}

async function createServer(database: Database, name = 'active'): Promise<string> {
  const server = await new Store(database.db).repos.servers.create({ name, description: null, ownerId: null });
  return server.id;
}

async function activityOf(database: Database, serverIds: string[]) {
  const rows = await database.db
    .selectFrom('server_activity')
    .select(['server_id', 'hour', 'joins', 'messages'])
    .where('server_id', 'in', serverIds)
    .orderBy('server_id')
    .orderBy('hour')
    .execute();
  return rows.map((row) => ({ serverId: row.server_id, hour: row.hour.toISOString(), joins: row.joins, messages: row.messages }));
}

const at = (ms: number) => new Date(ms).toISOString();

describe.each(databaseKinds)('ActivityRecorder on %s', (_kind, open) => {
  let underTest: DatabaseUnderTest;
  let database: Database;
  const recorders: ActivityRecorder[] = [];

  function recorder(options: { clock?: Clock; flushIntervalMs?: number; store?: Store } = {}) {
    const { logger, warnings } = recordingLogger();
    const created = new ActivityRecorder({
      store: options.store ?? new Store(database.db),
      clock: options.clock ?? manualClock(),
      logger,
      flushIntervalMs: options.flushIntervalMs ?? 3_600_000,
    });
    recorders.push(created);
    return { recorder: created, warnings };
  }

  beforeAll(async () => {
    underTest = await open();
    database = underTest.database;
  });
  afterEach(async () => {
    await Promise.all(recorders.splice(0).map((created) => created.close()));
  });
  afterAll(() => underTest.close());

  it('adds the counts of many calls as one row per community and hour, on top of what is stored', async () => {
    const [a, b] = [await createServer(database), await createServer(database)];
    const clock = manualClock();
    const { recorder: activity, warnings } = recorder({ clock });

    clock.set(T0 + 5 * 60_000);
    activity.recordJoin(a);
    activity.recordMessage(a);
    activity.recordMessage(b);
    clock.set(T0 + HOUR - 1);
    activity.recordJoin(a);
    activity.recordJoin(a.toUpperCase());
    activity.recordMessage(a);
    clock.set(T0 + HOUR);
    activity.recordMessage(a);
    await activity.flush();

    expect(await activityOf(database, [a])).toEqual([
      { serverId: a, hour: at(T0), joins: 3, messages: 2 },
      { serverId: a, hour: at(T0 + HOUR), joins: 0, messages: 1 },
    ]);
    expect(await activityOf(database, [b])).toEqual([{ serverId: b, hour: at(T0), joins: 0, messages: 1 }]);

    activity.recordMessage(a);
    activity.recordJoin(a);
    await activity.flush();
    await activity.flush();
    expect(await activityOf(database, [a])).toEqual([
      { serverId: a, hour: at(T0), joins: 3, messages: 2 },
      { serverId: a, hour: at(T0 + HOUR), joins: 1, messages: 2 },
    ]);
    expect(warnings()).toEqual([]);
  });

  it('ignores ids that are not UUIDs instead of failing the whole batch', async () => {
    const a = await createServer(database);
    const { recorder: activity, warnings } = recorder();
    activity.recordMessage('general');
    activity.recordMessage(a);
    await activity.flush();
    expect(await activityOf(database, [a])).toEqual([{ serverId: a, hour: at(T0), joins: 0, messages: 1 }]);
    expect(warnings()).toEqual([]);
  });

  it('flushes on its own every flushIntervalMs', async () => {
    const a = await createServer(database);
    const { recorder: activity } = recorder({ flushIntervalMs: 20 });
    activity.recordJoin(a);
    let rows: Awaited<ReturnType<typeof activityOf>> = [];
    await eventually(async () => (rows = await activityOf(database, [a])).length > 0, 5000, 'the timed flush');
    expect(rows).toEqual([{ serverId: a, hour: at(T0), joins: 1, messages: 0 }]);
  });

  it('drops the counts of a community deleted meanwhile, and keeps flushing the others', async () => {
    const [gone, kept] = [await createServer(database), await createServer(database)];
    const { recorder: activity, warnings } = recorder();
    activity.recordJoin(gone);
    activity.recordMessage(kept);
    await database.db.deleteFrom('servers').where('id', '=', gone).execute();

    await activity.flush();
    activity.recordMessage(kept);
    await activity.flush();

    expect(await activityOf(database, [gone, kept])).toEqual([{ serverId: kept, hour: at(T0), joins: 0, messages: 2 }]);
    expect(warnings()).toEqual([]);
  });

  it('keeps the counts of a failed flush for the next one', async () => {
    const a = await createServer(database);
    const { recorder: activity, warnings } = recorder();
    activity.recordMessage(a);
    await sql`alter table server_activity rename to server_activity_away`.execute(database.db);
    try {
      await activity.flush();
      activity.recordMessage(a);
      activity.recordJoin(a);
    } finally {
      await sql`alter table server_activity_away rename to server_activity`.execute(database.db);
    }
    expect(warnings()).toEqual([expect.objectContaining({ msg: expect.stringContaining('flush failed') })]);
    expect(await activityOf(database, [a])).toEqual([]);

    await activity.flush();
    expect(await activityOf(database, [a])).toEqual([{ serverId: a, hour: at(T0), joins: 1, messages: 2 }]);
  });

  it(`holds at most ${MAX_PENDING_ACTIVITY} community-hours between flushes and says how much it dropped`, async () => {
    const [a, late] = [await createServer(database), await createServer(database)];
    const clock = manualClock();
    const { recorder: activity, warnings } = recorder({ clock });
    for (let hour = 0; hour < MAX_PENDING_ACTIVITY; hour++) {
      clock.set(T0 + hour * HOUR);
      activity.recordMessage(a);
    }
    activity.recordMessage(a); // an hour already pending still counts
    activity.recordJoin(late);
    activity.recordMessage(late);
    await activity.flush();

    const rows = await activityOf(database, [a, late]);
    expect(rows).toHaveLength(MAX_PENDING_ACTIVITY);
    expect(rows.every((row) => row.serverId === a)).toBe(true);
    expect(rows.at(-1)).toEqual({ serverId: a, hour: at(T0 + (MAX_PENDING_ACTIVITY - 1) * HOUR), joins: 0, messages: 2 });
    expect(warnings()).toEqual([expect.objectContaining({ dropped: 2 })]);
  });

  it('flushes on close and ignores what comes after', async () => {
    const a = await createServer(database);
    const { recorder: activity } = recorder();
    activity.recordJoin(a);
    await activity.close();
    activity.recordJoin(a);
    await activity.flush();
    expect(await activityOf(database, [a])).toEqual([{ serverId: a, hour: at(T0), joins: 1, messages: 0 }]);
  });
});

describe('ActivityRecorder on two pods sharing Postgres', () => {
  let testDb: TestDatabase;
  let pods: Database[];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    pods = [await testDb.open(), await testDb.open()];
  });
  afterAll(() => testDb.drop());

  it('adds up concurrent flushes exactly', async () => {
    const servers = await Promise.all(Array.from({ length: 100 }, () => createServer(pods[0]!)));
    const clock = manualClock();
    const loggers = pods.map(() => recordingLogger());
    const recorders = pods.map(
      (pod, index) => new ActivityRecorder({ store: new Store(pod.db), clock, logger: loggers[index]!.logger }),
    );
    for (let round = 0; round < 5; round++) {
      // Each round starts a new hour; the pods see the communities in opposite orders.
      clock.set(T0 + round * HOUR);
      servers.forEach((serverId, index) => {
        for (let i = 0; i <= index; i++) recorders[0]!.recordMessage(serverId);
      });
      [...servers].reverse().forEach((serverId) => {
        recorders[1]!.recordMessage(serverId);
        recorders[1]!.recordJoin(serverId);
      });
      await Promise.all(recorders.map((recorder) => recorder.flush()));
    }
    await Promise.all(recorders.map((recorder) => recorder.close()));
    // Every flush succeeded the first time: close() did not make up for a failed one.
    expect(loggers.flatMap((logger) => logger.warnings())).toEqual([]);

    const rows = await activityOf(pods[0]!, servers);
    expect(rows).toHaveLength(servers.length * 5);
    for (const row of rows) {
      const index = servers.indexOf(row.serverId);
      expect(row).toMatchObject({ joins: 1, messages: index + 2 });
    }
  });

  it('does not throw when its database is closed, on flush or on close', async () => {
    const serverId = await createServer(pods[0]!);
    const closed = await testDb.open();
    const { logger, warnings } = recordingLogger();
    const activity = new ActivityRecorder({ store: new Store(closed.db), clock: manualClock(), logger });
    await closed.ping(); // Kysely ignores the close of a handle that never ran a query
    await closed.close();
    activity.recordJoin(serverId);
    await expect(activity.flush()).resolves.toBeUndefined();
    await expect(activity.close()).resolves.toBeUndefined();
    expect(warnings()).toHaveLength(2);
    expect(await activityOf(pods[0]!, [serverId])).toEqual([]);
  });
});
