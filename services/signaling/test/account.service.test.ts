import { createHash } from 'node:crypto';
import type { Database } from '@parley/db';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, type DatabaseUnderTest } from './support/databases.ts';
import { RecordingRealtime } from './support/recording-realtime.ts';
import { Argon2PasswordHasher } from '../src/adapters/argon2/password-hasher.ts';
import type { Clock } from '../src/clock.ts';
import { AccountService } from '../src/domain/accounts/account.service.ts';
import type { Actor } from '../src/domain/accounts/actor.ts';
import { Authenticator, type AuthMode } from '../src/domain/accounts/authenticator.ts';
import { DeviceTokenService } from '../src/domain/accounts/device-token.service.ts';
import type { OidcIdentityClaims, OidcTokenVerifier } from '../src/domain/accounts/oidc-token-verifier.ts';
import { Store } from '../src/domain/store.ts';
import { AppError } from '../src/errors.ts';

const PASSWORD = 'correct horse battery';

/** Takes `<subject>.<base64url username>.valid` for a valid token; anything else is refused. */
class FakeOidcVerifier implements OidcTokenVerifier {
  async verify(token: string): Promise<OidcIdentityClaims> {
    const [subject, encodedName, signature] = token.split('.');
    if (signature !== 'valid' || !subject) throw new AppError('auth_error');
    const username = Buffer.from(encodedName ?? '', 'base64url').toString();
    return { issuer: 'https://issuer.example', subject, username, displayName: undefined, expiresAt: Date.now() + 60_000 };
  }
}

/** A token the fake verifier accepts. */
function oidcToken(subject: string, username: string): string {
  return `${subject}.${Buffer.from(username).toString('base64url')}.valid`;
}

describe.each(databaseKinds)('accounts on %s', (_kind, open) => {
  let underTest: DatabaseUnderTest;
  let database: Database;
  let store: Store;
  let now = new Date('2026-11-22T12:00:00Z');
  const clock: Clock = { now: () => now };
  const hasher = new Argon2PasswordHasher();

  function services(mode: AuthMode = 'both') {
    const realtime = new RecordingRealtime();
    const oidc = mode === 'oidc' || mode === 'both' ? new FakeOidcVerifier() : undefined;
    return {
      realtime,
      authenticator: new Authenticator({ store, clock, mode, oidc }),
      accounts: new AccountService({ store, hasher, clock, realtime, sessionTtlMs: 60 * 60 * 1000, mode }),
      deviceTokens: new DeviceTokenService({ store }),
    };
  }

  async function passwordHashOf(userId: string): Promise<string | null> {
    const row = await database.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    return row.password_hash;
  }

  beforeAll(async () => {
    underTest = await open();
    database = underTest.database;
    store = new Store(database.db);
  });
  afterAll(() => underTest.close());

  describe('sessions', () => {
    it('authenticates a token until it expires', async () => {
      const { accounts, authenticator } = services();
      const session = await accounts.register({ username: 'expiring', password: PASSWORD });
      expect(session.expiresAt).toBe(now.getTime() + 60 * 60 * 1000);
      await expect(authenticator.authenticate(session.token)).resolves.toMatchObject({
        userId: session.id,
        username: 'expiring',
        expiresAt: session.expiresAt,
      });

      now = new Date(session.expiresAt + 1);
      await expect(authenticator.authenticate(session.token)).rejects.toMatchObject({ code: 'auth_error' });
    });

    it('stores only the SHA-256 of each token, one row per sign-in', async () => {
      const { accounts } = services();
      const first = await accounts.register({ username: 'hashed', password: PASSWORD });
      const second = await accounts.login({ username: 'hashed', password: PASSWORD });
      const rows = await database.db.selectFrom('sessions').select('token_hash').where('user_id', '=', first.id).execute();
      expect(rows.map((row) => row.token_hash).sort()).toEqual(
        [first.token, second.token].map((token) => createHash('sha256').update(token).digest('hex')).sort(),
      );
    });

    it('logout revokes that session only and ends its connections', async () => {
      const { accounts, authenticator, realtime } = services();
      const first = await accounts.register({ username: 'logout', password: PASSWORD });
      const second = await accounts.login({ username: 'logout', password: PASSWORD });
      const actor = await authenticator.authenticate(first.token);

      await accounts.logout(actor);
      await expect(authenticator.authenticate(first.token)).rejects.toMatchObject({ code: 'auth_error' });
      await expect(authenticator.authenticate(second.token)).resolves.toMatchObject({ userId: first.id });
      expect(realtime.endedSessions).toEqual([{ sessionId: actor.sessionId, reason: 'logout' }]);
      const revoked = await database.db.selectFrom('sessions').select('revoked_reason').where('id', '=', actor.sessionId).executeTakeFirst();
      expect(revoked).toEqual({ revoked_reason: 'logout' });
    });

    it('an operator can revoke every session of a user', async () => {
      const { accounts, authenticator, realtime } = services();
      const first = await accounts.register({ username: 'revoke_all', password: PASSWORD });
      const second = await accounts.login({ username: 'revoke_all', password: PASSWORD });
      expect(await accounts.revokeAllSessions(first.id)).toBe(2);
      for (const token of [first.token, second.token]) {
        await expect(authenticator.authenticate(token)).rejects.toMatchObject({ code: 'auth_error' });
      }
      expect(realtime.endedSessions.map((ended) => ended.reason)).toEqual(['admin', 'admin']);
    });

    it('lets exactly one of two concurrent registrations of a name win', async () => {
      const { accounts } = services();
      const results = await Promise.allSettled([
        accounts.register({ username: 'race', password: PASSWORD }),
        accounts.register({ username: 'RACE', password: PASSWORD }),
      ]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((result) => result.status === 'rejected')).toMatchObject({ reason: { code: 'username_taken' } });
      const users = await database.db.selectFrom('users').select('id').where('username', 'ilike', 'race').execute();
      expect(users).toHaveLength(1);
    });
  });

  describe('passwords', () => {
    it('never signs in an account without a password (OIDC-only)', async () => {
      const { accounts } = services();
      await database.db.insertInto('users').values({ username: 'oidc_only', display_name: 'O', password_hash: null }).execute();
      await expect(accounts.login({ username: 'oidc_only', password: 'anything at all' })).rejects.toMatchObject({
        code: 'invalid_credentials',
      });
    });

    it.each([
      ['bcrypt', () => bcrypt.hashSync(PASSWORD, 4)],
      ['legacy SHA-256', () => createHash('sha256').update(PASSWORD).digest('hex')],
    ])('upgrades an imported %s hash to argon2id at the next successful sign-in', async (kind, legacyHash) => {
      const { accounts } = services();
      const imported = legacyHash();
      const username = `imported_${kind.replace(/\W/g, '')}`;
      const user = await store.repos.users.create({ username, displayName: username, passwordHash: imported });

      await expect(accounts.login({ username, password: 'not the password' })).rejects.toMatchObject({ code: 'invalid_credentials' });
      expect(await passwordHashOf(user!.id)).toBe(imported);

      await accounts.login({ username, password: PASSWORD });
      const upgraded = await passwordHashOf(user!.id);
      expect(upgraded).toMatch(/^\$argon2id\$/);
      await expect(accounts.login({ username, password: PASSWORD })).resolves.toMatchObject({ id: user!.id });
      expect(await passwordHashOf(user!.id)).toBe(upgraded);
    });

    it('changes the password, and on request ends every other session', async () => {
      const { accounts, authenticator, realtime } = services();
      const kept = await accounts.register({ username: 'changer', password: PASSWORD });
      const other = await accounts.login({ username: 'changer', password: PASSWORD });
      const actor = await authenticator.authenticate(kept.token);

      await accounts.updateProfile(actor, { currentPassword: PASSWORD, newPassword: 'a new long password', revokeOtherSessions: true });
      await expect(authenticator.authenticate(kept.token)).resolves.toMatchObject({ userId: kept.id });
      await expect(authenticator.authenticate(other.token)).rejects.toMatchObject({ code: 'auth_error' });
      expect(realtime.endedSessions).toEqual([{ sessionId: expect.any(String), reason: 'password_change' }]);
      await expect(accounts.login({ username: 'changer', password: PASSWORD })).rejects.toMatchObject({ code: 'invalid_credentials' });
      await expect(accounts.login({ username: 'changer', password: 'a new long password' })).resolves.toMatchObject({ id: kept.id });
    });

    it('refuses a password change with a wrong or missing current password and changes nothing', async () => {
      const { accounts, authenticator } = services();
      const session = await accounts.register({ username: 'guarded', password: PASSWORD });
      const actor = await authenticator.authenticate(session.token);
      const before = await passwordHashOf(session.id);

      await expect(
        accounts.updateProfile(actor, { displayName: 'New Name', currentPassword: 'wrong password', newPassword: 'another long one' }),
      ).rejects.toMatchObject({ code: 'wrong_password' });
      await expect(accounts.updateProfile(actor, { newPassword: 'another long one' })).rejects.toMatchObject({
        code: 'invalid_payload',
      });
      expect(await passwordHashOf(session.id)).toBe(before);
      expect(await accounts.profile(actor)).toMatchObject({ displayName: 'guarded', signInMethods: ['password'] });
    });
  });

  describe('auth modes', () => {
    it('disabled refuses every sign-in, registration and token (the server lock)', async () => {
      const session = await services().accounts.register({ username: 'locked_out', password: PASSWORD });
      const { accounts, authenticator } = services('disabled');
      await expect(accounts.login({ username: 'locked_out', password: PASSWORD })).rejects.toMatchObject({ code: 'auth_disabled' });
      await expect(accounts.register({ username: 'newcomer', password: PASSWORD })).rejects.toMatchObject({ code: 'auth_disabled' });
      await expect(authenticator.authenticate(session.token)).rejects.toMatchObject({ code: 'auth_disabled' });
      await expect(authenticator.authenticate(oidcToken('sub', 'name'))).rejects.toMatchObject({ code: 'auth_disabled' });
    });

    it('oidc refuses passwords and session tokens; local refuses OIDC tokens', async () => {
      const session = await services().accounts.register({ username: 'mode_user', password: PASSWORD });
      const oidcOnly = services('oidc');
      await expect(oidcOnly.accounts.login({ username: 'mode_user', password: PASSWORD })).rejects.toMatchObject({
        code: 'auth_method_disabled',
      });
      await expect(oidcOnly.authenticator.authenticate(session.token)).rejects.toMatchObject({ code: 'auth_error' });
      await expect(services('local').authenticator.authenticate(oidcToken('sub-x', 'name'))).rejects.toMatchObject({ code: 'auth_error' });
    });
  });

  describe('OIDC identities', () => {
    it('provisions one user per (issuer, subject), even when pods race on the first sight', async () => {
      const { authenticator, accounts } = services();
      const actors = await Promise.all(Array.from({ length: 5 }, () => authenticator.authenticate(oidcToken('sub-race', 'racer'))));
      expect(new Set(actors.map((actor) => actor.userId)).size).toBe(1);
      expect(actors[0]).toMatchObject({ username: 'racer', sessionId: null });
      const identities = await database.db.selectFrom('oidc_identities').selectAll().where('subject', '=', 'sub-race').execute();
      expect(identities).toHaveLength(1);
      expect(await accounts.profile(actors[0]!)).toMatchObject({ signInMethods: ['oidc'] });
    });

    it('gives a new identity a free, valid username when the claimed one is taken or unusable', async () => {
      const { authenticator } = services();
      await store.repos.users.create({ username: 'taken_name', displayName: 'x', passwordHash: null });
      const renamed = await authenticator.authenticate(oidcToken('sub-taken', 'taken_name'));
      expect(renamed.username).toMatch(/^taken_name-[0-9a-f]{6}$/);
      const cleaned = await authenticator.authenticate(oidcToken('sub-odd', 'a b@c!'));
      expect(cleaned.username).toBe('a_b_c_');
    });
  });

  describe('device tokens', () => {
    async function actorFor(username: string): Promise<Actor> {
      const { accounts, authenticator } = services();
      return authenticator.authenticate((await accounts.register({ username, password: PASSWORD })).token);
    }

    it('keeps each user’s tokens to themselves and moves a token that changes account', async () => {
      const { deviceTokens } = services();
      const alice = await actorFor('tokens_alice');
      const bob = await actorFor('tokens_bob');
      const added = await deviceTokens.add(alice, { platform: 'fcm', token: 'shared-device' });
      expect(added.created).toBe(true);
      expect((await deviceTokens.add(alice, { platform: 'fcm', token: 'shared-device' })).created).toBe(false);

      await expect(deviceTokens.remove(bob, added.deviceToken.id)).rejects.toMatchObject({ code: 'not_found' });
      expect(await deviceTokens.list(bob)).toEqual([]);

      await deviceTokens.add(bob, { platform: 'apns', token: 'shared-device' });
      expect(await deviceTokens.list(alice)).toEqual([]);
      expect(await deviceTokens.list(bob)).toMatchObject([{ platform: 'apns', token: 'shared-device' }]);
    });

    it('stops at 50 tokens per user, even when added concurrently', async () => {
      const { deviceTokens } = services();
      const carol = await actorFor('tokens_carol');
      const results = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) => deviceTokens.add(carol, { platform: 'web', token: `device-${i}` })),
      );
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(50);
      expect(results.find((result) => result.status === 'rejected')).toMatchObject({ reason: { code: 'limit_reached' } });
      expect(await deviceTokens.list(carol)).toHaveLength(50);
    });
  });
});
