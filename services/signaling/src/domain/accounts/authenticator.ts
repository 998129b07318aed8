import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import type { Store } from '../store.ts';
import type { Actor } from './actor.ts';
import type { OidcTokenVerifier } from './oidc-token-verifier.ts';
import { userForOidcIdentity } from './oidc-provisioning.ts';
import { hashSessionToken, looksLikeSessionToken } from './session-token.ts';

/**
 * Which credentials sign a user in: `local` (username and password, session
 * tokens), `oidc` (access tokens from OIDC_ISSUER), `both`, or `disabled`
 * (every sign-in and connection is refused: the Gryt seed's server lock).
 */
export type AuthMode = 'local' | 'oidc' | 'both' | 'disabled';

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export interface AuthenticatorDeps {
  store: Store;
  clock: Clock;
  mode: AuthMode;
  /** Required when `mode` is `oidc` or `both`. */
  oidc: OidcTokenVerifier | undefined;
}

/**
 * Turns a presented credential (REST bearer or handshake token) into the
 * actor. Session tokens are accepted in `local` and `both` modes, OIDC access
 * tokens in `oidc` and `both`; `disabled` refuses everything.
 */
export class Authenticator {
  readonly #deps: AuthenticatorDeps;

  constructor(deps: AuthenticatorDeps) {
    if ((deps.mode === 'oidc' || deps.mode === 'both') && !deps.oidc) {
      throw new Error(`AUTH_MODE ${deps.mode} needs an OIDC token verifier`);
    }
    this.#deps = deps;
  }

  /**
   * Throws `auth_disabled` under the server lock, `auth_error` for anything
   * not valid now (unknown, revoked, expired, of a kind this mode refuses),
   * `unavailable` when the OIDC issuer cannot be reached.
   */
  async authenticate(token: string): Promise<Actor> {
    const { mode, oidc } = this.#deps;
    if (mode === 'disabled') throw new AppError('auth_disabled');
    if (looksLikeSessionToken(token)) {
      if (mode === 'oidc') throw new AppError('auth_error', 'This server accepts only OIDC access tokens');
      return this.#authenticateSession(token);
    }
    if (JWT.test(token)) {
      if (!oidc) throw new AppError('auth_error', 'This server accepts only its own session tokens');
      return this.#authenticateOidc(oidc, token);
    }
    throw new AppError('auth_error');
  }

  async #authenticateSession(token: string): Promise<Actor> {
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
      expiresAt: session.expiresAt.getTime(),
    };
  }

  async #authenticateOidc(oidc: OidcTokenVerifier, token: string): Promise<Actor> {
    const claims = await oidc.verify(token);
    const user = await userForOidcIdentity(this.#deps.store, claims);
    return {
      userId: user.id,
      sessionId: null,
      username: user.username,
      displayName: user.display_name,
      expiresAt: claims.expiresAt,
    };
  }
}
