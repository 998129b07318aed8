import type { UserRow } from '@parley/db';
import type { AuthSession, LoginRequest, RegisterRequest, UpdateMeRequest, UserProfile } from '@parley/protocol';
import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import type { Repositories, Store } from '../store.ts';
import type { Actor } from './actor.ts';
import type { AuthMode } from './authenticator.ts';
import type { PasswordHasher } from './password-hasher.ts';
import { hashSessionToken, newSessionToken } from './session-token.ts';
import { requireUsableImage } from '../media/usable-image.ts';

export interface AccountServiceDeps {
  store: Store;
  hasher: PasswordHasher;
  clock: Clock;
  realtime: Realtime;
  sessionTtlMs: number;
  mode: AuthMode;
}

/** Local accounts, their session tokens and their profile. */
export class AccountService {
  readonly #deps: AccountServiceDeps;
  /** Verified against when the username is unknown, so both failures take as long. */
  #decoyHash: Promise<string> | undefined;

  constructor(deps: AccountServiceDeps) {
    this.#deps = deps;
  }

  /** Creates an account and its first session. Throws `username_taken`, `auth_disabled`, `auth_method_disabled`. */
  async register(input: RegisterRequest): Promise<AuthSession> {
    this.#requirePasswordSignIn();
    const { store, hasher } = this.#deps;
    if (await store.repos.users.getByUsername(input.username)) throw new AppError('username_taken');
    const passwordHash = await hasher.hash(input.password);
    return store.transaction(async (repos) => {
      const user = await repos.users.create({
        username: input.username,
        displayName: input.displayName ?? input.username,
        passwordHash,
      });
      if (!user) throw new AppError('username_taken');
      return this.#openSession(repos, user);
    });
  }

  /**
   * Opens a new session; other sessions stay valid. A hash imported from a
   * seed system (bcrypt, SHA-256) is replaced by argon2id here.
   * Throws `invalid_credentials`, `auth_disabled`, `auth_method_disabled`.
   */
  async login(input: LoginRequest): Promise<AuthSession> {
    this.#requirePasswordSignIn();
    const { store, hasher } = this.#deps;
    const user = await store.repos.users.getByUsername(input.username);
    if (!user?.password_hash) {
      this.#decoyHash ??= hasher.hash('decoy password for timing');
      await hasher.verify(await this.#decoyHash, input.password);
      throw new AppError('invalid_credentials');
    }
    if (!(await hasher.verify(user.password_hash, input.password))) throw new AppError('invalid_credentials');
    if (hasher.needsRehash(user.password_hash)) {
      await store.repos.users.replacePasswordHash(user.id, user.password_hash, await hasher.hash(input.password));
    }
    return this.#openSession(store.repos, user);
  }

  /** Revokes the actor's session (not the user's others) and closes its connections on every pod. */
  async logout(actor: Actor): Promise<void> {
    // An OIDC access token is not a Parley session: it ends at its provider.
    if (!actor.sessionId) return;
    const revoked = await this.#deps.store.repos.sessions.revoke(actor.userId, {
      reason: 'logout',
      now: this.#deps.clock.now(),
      sessionId: actor.sessionId,
    });
    this.#deps.realtime.endSessions(revoked, 'logout');
  }

  /** Revokes every session of a user (an operator's action). Returns how many were live. */
  async revokeAllSessions(userId: string): Promise<number> {
    const revoked = await this.#deps.store.repos.sessions.revoke(userId, { reason: 'admin', now: this.#deps.clock.now() });
    this.#deps.realtime.endSessions(revoked, 'admin');
    return revoked.length;
  }

  async profile(actor: Actor): Promise<UserProfile> {
    const user = await this.#deps.store.repos.users.get(actor.userId);
    if (!user) throw new AppError('auth_error');
    return this.#toProfile(user);
  }

  /**
   * Changes the display name and/or the password. A password change needs the
   * current password (unless the account has none yet) and, with
   * `revokeOtherSessions`, ends every other session on every pod.
   * Throws `wrong_password`, `invalid_payload`, `auth_method_disabled`.
   */
  async updateProfile(actor: Actor, input: UpdateMeRequest): Promise<UserProfile> {
    const { store, hasher, clock } = this.#deps;
    let passwordHash: string | undefined;
    if (input.newPassword !== undefined) {
      this.#requirePasswordSignIn();
      const user = await store.repos.users.get(actor.userId);
      if (!user) throw new AppError('auth_error');
      if (user.password_hash) {
        if (input.currentPassword === undefined) {
          throw new AppError('invalid_payload', 'currentPassword is required to change the password', {
            details: [{ path: 'currentPassword', message: 'is required with newPassword' }],
          });
        }
        if (!(await hasher.verify(user.password_hash, input.currentPassword))) throw new AppError('wrong_password');
      }
      passwordHash = await hasher.hash(input.newPassword);
    }
    const { user, revoked } = await store.transaction(async (repos) => {
      if (input.avatarFileId) await requireUsableImage(repos, actor.userId, input.avatarFileId, 'avatar');
      const updated = await repos.users.update(actor.userId, {
        displayName: input.displayName,
        passwordHash,
        avatarFileId: input.avatarFileId,
      });
      if (!updated) throw new AppError('auth_error');
      const ended = input.revokeOtherSessions
        ? await repos.sessions.revoke(actor.userId, {
            reason: 'password_change',
            now: clock.now(),
            exceptSessionId: actor.sessionId,
          })
        : [];
      return { user: updated, revoked: ended };
    });
    this.#deps.realtime.endSessions(revoked, 'password_change');
    return this.#toProfile(user);
  }

  #requirePasswordSignIn(): void {
    if (this.#deps.mode === 'disabled') throw new AppError('auth_disabled');
    if (this.#deps.mode === 'oidc') throw new AppError('auth_method_disabled');
  }

  async #toProfile(user: UserRow): Promise<UserProfile> {
    const signInMethods: UserProfile['signInMethods'] = [];
    if (user.password_hash) signInMethods.push('password');
    if (await this.#deps.store.repos.oidcIdentities.existsForUser(user.id)) signInMethods.push('oidc');
    return {
      id: user.id,
      username: user.username,
      displayName: user.display_name,
      avatarFileId: user.avatar_file_id,
      createdAt: user.created_at.toISOString(),
      signInMethods,
    };
  }

  async #openSession(repos: Repositories, user: UserRow): Promise<AuthSession> {
    const token = newSessionToken();
    const expiresAt = new Date(this.#deps.clock.now().getTime() + this.#deps.sessionTtlMs);
    await repos.sessions.create({ userId: user.id, tokenHash: hashSessionToken(token), expiresAt });
    return { id: user.id, username: user.username, displayName: user.display_name, token, expiresAt: expiresAt.getTime() };
  }
}
