import { randomBytes } from 'node:crypto';
import type { Database } from '@parley/db';
import { limits } from '@parley/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../src/domain/accounts/actor.ts';
import { BlockService } from '../src/domain/accounts/block.service.ts';
import { Store } from '../src/domain/store.ts';
import { databaseKinds, type DatabaseUnderTest } from './support/databases.ts';

/** Inserts `count` users straight into the database; returns their ids. */
async function insertUsers(database: Database, count: number): Promise<string[]> {
  const batch = randomBytes(4).toString('hex');
  const rows = await database.db
    .insertInto('users')
    .values(Array.from({ length: count }, (_, index) => ({ username: `u_${batch}_${index}`, display_name: `User ${index}` })))
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

const actorOf = (userId: string): Actor => ({ userId, sessionId: null, username: 'actor', displayName: 'Actor', expiresAt: Date.now() + 60_000 });

describe.each(databaseKinds)('BlockService on %s', (_kind, open) => {
  let underTest: DatabaseUnderTest;
  let database: Database;
  let blocks: BlockService;

  beforeAll(async () => {
    underTest = await open();
    database = underTest.database;
    blocks = new BlockService({ store: new Store(database.db) });
  });
  afterAll(() => underTest.close());

  it('hasBlocked answers for one direction only, and follows block and unblock', async () => {
    const [a, b] = await insertUsers(database, 2);
    expect(await blocks.hasBlocked(a!, b!)).toBe(false);

    await blocks.block(actorOf(a!), b!);
    expect(await blocks.hasBlocked(a!, b!)).toBe(true);
    expect(await blocks.hasBlocked(b!, a!)).toBe(false);

    await blocks.unblock(actorOf(a!), b!);
    expect(await blocks.hasBlocked(a!, b!)).toBe(false);
  });

  it('lets exactly one of several concurrent blocks take the last place under the cap', async () => {
    const [blocker, ...others] = await insertUsers(database, limits.blocksPerUser.max + 20);
    const preexisting = others.slice(0, limits.blocksPerUser.max - 1);
    await database.db.insertInto('user_blocks').values(preexisting.map((blocked) => ({ blocker_id: blocker!, blocked_id: blocked }))).execute();

    const contenders = others.slice(limits.blocksPerUser.max - 1);
    // Opens the pool's connections first, so that the contenders' transactions really overlap.
    await Promise.all(contenders.map(() => sql`select pg_sleep(0.05)`.execute(database.db)));
    const results = await Promise.allSettled(contenders.map((userId) => blocks.block(actorOf(blocker!), userId)));

    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results.filter((result) => result.status === 'rejected')) {
      expect(result.reason).toMatchObject({ code: 'limit_reached' });
    }
    expect(await blocks.list(actorOf(blocker!))).toHaveLength(limits.blocksPerUser.max);
  });

  it('loses a block when either user is deleted', async () => {
    const [a, b, c] = await insertUsers(database, 3);
    await blocks.block(actorOf(a!), b!);
    await blocks.block(actorOf(c!), a!);
    await database.db.deleteFrom('users').where('id', '=', a!).execute();
    const left = await database.db.selectFrom('user_blocks').selectAll().where('blocked_id', 'in', [a!, b!]).execute();
    expect(left).toEqual([]);
  });

  it('refuses a self-block in the database too', async () => {
    const [a] = await insertUsers(database, 1);
    await expect(database.db.insertInto('user_blocks').values({ blocker_id: a!, blocked_id: a! }).execute()).rejects.toThrow(/check/i);
  });
});
