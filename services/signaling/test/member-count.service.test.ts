import { randomBytes } from 'node:crypto';
import type { Database } from '@parley/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAttemptGuard } from '../src/adapters/memory/attempt-guard.ts';
import { Argon2PasswordHasher } from '../src/adapters/argon2/password-hasher.ts';
import { defaultAttemptGuardPolicy } from '../src/rate-limit/attempt-guard.ts';
import { systemClock } from '../src/clock.ts';
import type { Actor } from '../src/domain/accounts/actor.ts';
import { ChannelAccess } from '../src/domain/communities/access/channel-access.ts';
import { CommunityService } from '../src/domain/communities/community.service.ts';
import type { LiveState } from '../src/domain/communities/live-state.ts';
import { MemberCounts } from '../src/domain/communities/membership/member-counts.ts';
import { MembershipService } from '../src/domain/communities/membership/membership.service.ts';
import { ActivityRecorder } from '../src/domain/discovery/activity-recorder.ts';
import { Store, type Repositories } from '../src/domain/store.ts';
import { createLogger } from '../src/logger.ts';
import { databaseKinds, type DatabaseUnderTest } from './support/databases.ts';
import { RecordingRealtime } from './support/recording-realtime.ts';

/** Inserts `count` users straight into the database (registering hashes a password each); returns their ids. */
async function insertUsers(database: Database, count: number): Promise<string[]> {
  const batch = randomBytes(4).toString('hex');
  const rows = await database.db
    .insertInto('users')
    .values(Array.from({ length: count }, (_, index) => ({ username: `m_${batch}_${index}`, display_name: `User ${index}` })))
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

const actorOf = (userId: string): Actor => ({ userId, sessionId: null, username: 'actor', displayName: 'Actor', expiresAt: Date.now() + 60_000 });

const noLiveState: LiveState = {
  statuses: async () => new Map(),
  voiceChannels: async () => [],
  memberRemoved: async () => {},
  accessChanged: async () => {},
  channelsClosed: async () => {},
};

/** A Store that counts the transactions it ran. */
class CountingStore extends Store {
  transactions = 0;

  override transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    this.transactions++;
    return super.transaction(work);
  }
}

describe.each(databaseKinds)('member count under concurrent joins on %s', (_kind, open) => {
  let underTest: DatabaseUnderTest;
  let database: Database;
  let membership: MembershipService;
  let communities: CommunityService;
  let activity: ActivityRecorder;

  beforeAll(async () => {
    underTest = await open();
    database = underTest.database;
    const store = new Store(database.db);
    const realtime = new RecordingRealtime();
    const logger = createLogger({ level: 'silent', format: 'json', nodeId: 'test' });
    activity = new ActivityRecorder({ store, clock: systemClock, logger });
    communities = new CommunityService({ store, realtime });
    membership = new MembershipService({
      store,
      realtime,
      clock: systemClock,
      hasher: new Argon2PasswordHasher(),
      joinAttempts: new MemoryAttemptGuard(defaultAttemptGuardPolicy, systemClock),
      activity,
      communities,
      access: new ChannelAccess({ store, clock: systemClock }),
      liveState: noLiveState,
    });
    // Opens the pool's connections first, so that the joins' transactions really overlap.
    await Promise.all(Array.from({ length: 10 }, () => sql`select pg_sleep(0.05)`.execute(database.db)));
  });
  afterAll(async () => {
    await activity.close();
    await underTest.close();
  });

  async function openCommunity(maxMembers: number | null = null): Promise<{ serverId: string }> {
    const [ownerId] = await insertUsers(database, 1);
    const server = await communities.createServer(actorOf(ownerId!), { name: `counted ${randomBytes(3).toString('hex')}` });
    await database.db.updateTable('servers').set({ join_policy: 'open', max_members: maxMembers }).where('id', '=', server.id).execute();
    return { serverId: server.id };
  }

  async function counts(serverId: string): Promise<{ memberCount: number; active: number }> {
    const server = await database.db.selectFrom('servers').select('member_count').where('id', '=', serverId).executeTakeFirstOrThrow();
    const active = await database.db
      .selectFrom('members')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('server_id', '=', serverId)
      .where('active', '=', true)
      .executeTakeFirstOrThrow();
    return { memberCount: server.member_count, active: Number(active.n) };
  }

  const join = (serverId: string, userId: string) => membership.join(actorOf(userId), { serverId }, { ip: '127.0.0.1' });

  it('counts every one of many concurrent joins, and leaves racing with joins, exactly', async () => {
    const { serverId } = await openCommunity();
    const joiners = await insertUsers(database, 60);

    const joined = await Promise.all(joiners.map((userId) => join(serverId, userId)));
    expect(joined.every((reply) => reply.joined)).toBe(true);
    expect(await counts(serverId)).toEqual({ memberCount: 61, active: 61 });

    const leavers = joiners.slice(0, 20);
    const latecomers = await insertUsers(database, 20);
    await Promise.all([
      ...leavers.map((userId) => membership.leave(actorOf(userId), serverId)),
      ...latecomers.map((userId) => join(serverId, userId)),
    ]);
    expect(await counts(serverId)).toEqual({ memberCount: 61, active: 61 });
  });

  it('refuses joins once full: concurrent joins pass the cap by at most the others in flight, later ones get server_full', async () => {
    const cap = 10;
    const { serverId } = await openCommunity(cap);
    const joiners = await insertUsers(database, 30);

    const results = await Promise.allSettled(joiners.map((userId) => join(serverId, userId)));
    const refused = results.filter((result) => result.status === 'rejected');
    for (const result of refused) expect(result.reason).toMatchObject({ code: 'server_full' });
    const admitted = results.length - refused.length;
    const after = await counts(serverId);
    expect(after).toEqual({ memberCount: 1 + admitted, active: 1 + admitted });
    // A join is refused only when the count it read was at the cap: never while there was room.
    expect(after.active).toBeGreaterThanOrEqual(cap);
    expect(after.active).toBeLessThanOrEqual(cap + joiners.length - 1);

    const [late] = await insertUsers(database, 1);
    await expect(join(serverId, late!)).rejects.toMatchObject({ code: 'server_full' });

    // Once members leave below the cap, a join is admitted again.
    const stillIn = joiners.filter((_, index) => results[index]!.status === 'fulfilled');
    const leaving = stillIn.slice(0, after.active - cap + 1);
    for (const userId of leaving) await membership.leave(actorOf(userId), serverId);
    expect(await join(serverId, late!)).toMatchObject({ joined: true });
    expect(await counts(serverId)).toEqual({ memberCount: cap, active: cap });
  });

  it('shares recounts among the joins that arrive while one runs', async () => {
    const { serverId } = await openCommunity();
    const joiners = await insertUsers(database, 30);
    await database.db
      .insertInto('members')
      .values(joiners.map((userId) => ({ server_id: serverId, user_id: userId })))
      .execute();
    const store = new CountingStore(database.db);
    const memberCounts = new MemberCounts(store);

    await Promise.all(joiners.map(() => memberCounts.refresh(serverId)));

    // One runs, and every caller that arrived while it ran shares the next.
    expect(store.transactions).toBe(2);
    expect(await counts(serverId)).toEqual({ memberCount: 31, active: 31 });
    await memberCounts.refresh(serverId);
    expect(store.transactions).toBe(3);
  });
});
