import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, pendingMigrations, type Database } from '../src/index.ts';

// The embedded mode's database: real Postgres compiled to WASM, in memory here.
let database: Database;

beforeAll(async () => {
  database = await openDatabase({ kind: 'pglite' });
  await migrateToLatest(database.db);
});
afterAll(() => database.close());

it('runs the same migrations as Postgres', async () => {
  expect(await pendingMigrations(database.db)).toEqual([]);
});

it('reads bigint as a number and timestamps as Date, like the pg driver', async () => {
  const { rows } = await sql<{ big: unknown; at: unknown }>`select 9007199254740991::bigint as big, now() as at`.execute(
    database.db,
  );
  expect(rows[0]?.big).toBe(Number.MAX_SAFE_INTEGER);
  expect(rows[0]?.at).toBeInstanceOf(Date);
});

it('reports affected rows', async () => {
  await database.db.insertInto('users').values([
    { username: 'p1', display_name: 'P1' },
    { username: 'p2', display_name: 'P2' },
  ]).execute();
  const result = await database.db.updateTable('users').set({ display_name: 'X' }).where('username', 'like', 'p%').executeTakeFirst();
  expect(result.numUpdatedRows).toBe(2n);
});

it('rolls a failed transaction back', async () => {
  await expect(
    database.db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values({ username: 'rolled_back', display_name: 'R' }).execute();
      throw new Error('abort');
    }),
  ).rejects.toThrow('abort');
  const row = await database.db.selectFrom('users').select('id').where('username', '=', 'rolled_back').executeTakeFirst();
  expect(row).toBeUndefined();
});

it('never interleaves statements of concurrent transactions on its single connection', async () => {
  // Each transaction reads the counter, yields, and writes it back plus one:
  // interleaving on one backend would lose increments.
  const { id } = await database.db
    .insertInto('users')
    .values({ username: 'counter', display_name: '0' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await Promise.all(
    Array.from({ length: 20 }, () =>
      database.db.transaction().execute(async (trx) => {
        const { display_name } = await trx.selectFrom('users').select('display_name').where('id', '=', id).executeTakeFirstOrThrow();
        await new Promise((resolve) => setTimeout(resolve, 1));
        await trx.updateTable('users').set({ display_name: String(Number(display_name) + 1) }).where('id', '=', id).execute();
      }),
    ),
  );
  const row = await database.db.selectFrom('users').select('display_name').where('id', '=', id).executeTakeFirstOrThrow();
  expect(row.display_name).toBe('20');
});
