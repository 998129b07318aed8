import type { AuthSession, LoginRequest, RegisterRequest } from '@parley/protocol';
import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import type { Repositories, Store } from '../store.ts';
import type { Actor } from './actor.ts';
import type { PasswordHasher } from './password-hasher.ts';
import { hashSessionToken, looksLikeSessionToken, newSessionToken } from './session-token.ts';

export interface AccountServiceDeps {
  store: Store;
  hasher: PasswordHasher;
  clock: Clock;
  sessionTtlMs: number;
}

/** Local accounts and their session tokens. */
export class AccountService {
  readonly #deps: AccountServiceDeps;
  /** Verified against when the username is unknown, so both failures take as long. */
  #decoyHash: Promise<string> | undefined;

  constructor(deps: AccountServiceDeps) {
    this.#deps = deps;
  }

  /** Creates an account and its first session. Throws `username_taken`. */
  async register(input: RegisterRequest): Promise<AuthSession> {
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

  /** Opens a new session; other sessions stay valid. Throws `invalid_credentials`. */
  async login(input: LoginRequest): Promise<AuthSession> {
    const { store, hasher } = this.#deps;
    const user = await store.repos.users.getByUsername(input.username);
    if (!user?.password_hash) {
      this.#decoyHash ??= hasher.hash('decoy password for timing');
      await hasher.verify(await this.#decoyHash, input.password);
      throw new AppError('invalid_credentials');
    }
    if (!(await hasher.verify(user.password_hash, input.password))) throw new AppError('invalid_credentials');
    return this.#openSession(store.repos, user);
  }

  /** The actor behind a session token. Throws `auth_error` when it is unknown, revoked or expired. */
  async authenticate(token: string): Promise<Actor> {
    if (!looksLikeSessionToken(token)) throw new AppError('auth_error');
    const session = await this.#deps.store.repos.sessions.getActiveByTokenHash(
      hashSessionToken(token),
      this.#deps.clock.now(),
    );
    if (!session) throw new AppError('auth_error');
    return {
      userId: session.userId,
      sessionId: session.sessionId,
      username: session.username,
      displayName: session.displayName,
    };
  }

  async #openSession(
    repos: Repositories,
    user: { id: string; username: string; display_name: string },
  ): Promise<AuthSession> {
    const token = newSessionToken();
    const expiresAt = new Date(this.#deps.clock.now().getTime() + this.#deps.sessionTtlMs);
    await repos.sessions.create({ userId: user.id, tokenHash: hashSessionToken(token), expiresAt });
    return { id: user.id, username: user.username, displayName: user.display_name, token, expiresAt: expiresAt.getTime() };
  }
}
