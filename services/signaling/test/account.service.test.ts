import type { Database } from '@parley/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, type DatabaseUnderTest } from './support/databases.ts';
import { Argon2PasswordHasher } from '../src/adapters/argon2-password-hasher.ts';
import type { Clock } from '../src/clock.ts';
import { AccountService } from '../src/domain/accounts/account.service.ts';
import { Store } from '../src/domain/store.ts';

describe.each(databaseKinds)('AccountService on %s', (_kind, open) => {
  let underTest: DatabaseUnderTest;
  let database: Database;
  let now = new Date('2026-11-22T12:00:00Z');
  const clock: Clock = { now: () => now };
  let accounts: AccountService;

  beforeAll(async () => {
    underTest = await open();
    database = underTest.database;
    accounts = new AccountService({
      store: new Store(database.db),
      hasher: new Argon2PasswordHasher(),
      clock,
      sessionTtlMs: 60 * 60 * 1000,
    });
  });
  afterAll(() => underTest.close());

  describe('contract', () => {
    it('authenticates a token until it expires', async () => {
      const session = await accounts.register({ username: 'expiring', password: 'long enough' });
      expect(session.expiresAt).toBe(now.getTime() + 60 * 60 * 1000);
      await expect(accounts.authenticate(session.token)).resolves.toMatchObject({ userId: session.id, username: 'expiring' });

      now = new Date(session.expiresAt + 1);
      await expect(accounts.authenticate(session.token)).rejects.toMatchObject({ code: 'auth_error' });
    });

    it('refuses a revoked session', async () => {
      const session = await accounts.register({ username: 'revoked', password: 'long enough' });
      await database.db.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', session.id).execute();
      await expect(accounts.authenticate(session.token)).rejects.toMatchObject({ code: 'auth_error' });
    });

    it('lets exactly one of two concurrent registrations of a name win', async () => {
      const results = await Promise.allSettled([
        accounts.register({ username: 'race', password: 'long enough' }),
        accounts.register({ username: 'RACE', password: 'long enough' }),
      ]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((result) => result.status === 'rejected')).toMatchObject({ reason: { code: 'username_taken' } });
      const users = await database.db.selectFrom('users').select('id').where('username', 'ilike', 'race').execute();
      expect(users).toHaveLength(1);
    });

    it('never signs in an account without a password (OIDC-only)', async () => {
      await database.db.insertInto('users').values({ username: 'oidc_only', display_name: 'O', password_hash: null }).execute();
      await expect(accounts.login({ username: 'oidc_only', password: 'anything at all' })).rejects.toMatchObject({
        code: 'invalid_credentials',
      });
    });
  });
});
