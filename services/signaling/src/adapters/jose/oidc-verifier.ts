import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';
import type { OidcIdentityClaims, OidcSettings, OidcTokenVerifier } from '../../domain/accounts/oidc-token-verifier.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';

/** How long one fetch of the discovery document or the JWKS may take. */
const FETCH_TIMEOUT_MS = 5000;
/** When a client may retry after the issuer's keys could not be fetched. */
const KEYS_RETRY_AFTER_MS = 1000;
/** Discovery failures back off from the first to the last delay, doubling. */
const DISCOVERY_BACKOFF_MS = { first: 1000, last: 30_000 };

/** Why a token was refused, by jose error code. Never says more, never repeats the token. */
const REFUSALS: Readonly<Record<string, string>> = {
  ERR_JWT_EXPIRED: 'The token has expired',
  ERR_JOSE_ALG_NOT_ALLOWED: 'The token is signed with an algorithm that is not accepted',
  ERR_JWKS_NO_MATCHING_KEY: 'The token is signed with an unknown key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'The token does not name its signing key',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'The token signature is not valid',
};

const discoveryDocument = z.object({ issuer: z.string(), jwks_uri: z.url({ protocol: /^https?$/ }) });

/**
 * Verifies OIDC access tokens with jose against the issuer's JWKS, fetched
 * once and cached; a token with an unknown `kid` fetches it again at most once
 * per `jwksCooldownMs`, so a flood of forged key ids cannot flood the issuer.
 */
export class JoseOidcVerifier implements OidcTokenVerifier {
  readonly #settings: OidcSettings;
  readonly #log: Logger | undefined;
  #keys: JWTVerifyGetKey | undefined;
  #discovery: Promise<JWTVerifyGetKey> | undefined;
  #discoveryFailures = 0;
  #discoveryRetryAt = 0;

  constructor(settings: OidcSettings, logger?: Logger) {
    assertAsymmetric(settings.algorithms);
    this.#settings = settings;
    this.#log = logger?.child({ module: 'oidc' });
    if (settings.jwksUrl !== undefined) this.#keys = this.#remoteKeys(new URL(settings.jwksUrl));
  }

  async verify(token: string): Promise<OidcIdentityClaims> {
    const keys = this.#keys ?? (await this.#discoverKeys());
    let verified: { payload: JWTPayload; protectedHeader: JWTHeaderParameters };
    try {
      verified = await jwtVerify(token, keys, {
        algorithms: [...this.#settings.algorithms],
        issuer: this.#settings.issuer,
        audience: [...this.#settings.audience],
        clockTolerance: this.#settings.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub', 'iss', 'aud'],
      });
    } catch (error) {
      if (error instanceof errors.JOSEError) throw new AppError('auth_error', refusalFor(error));
      throw error; // AppError('unavailable') from the key set, or a bug
    }
    return this.#identityOf(verified.payload, verified.protectedHeader);
  }

  #identityOf(payload: JWTPayload, header: JWTHeaderParameters): OidcIdentityClaims {
    if (!isAccessTokenType(header.typ)) throw new AppError('auth_error', 'The token is not an access token');
    if (typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.exp !== 'number') {
      throw new AppError('auth_error', 'The token has no subject');
    }
    const username = payload[this.#settings.usernameClaim];
    return {
      issuer: this.#settings.issuer,
      subject: payload.sub,
      username: typeof username === 'string' ? username : undefined,
      displayName: typeof payload.name === 'string' ? payload.name : undefined,
      expiresAt: payload.exp * 1000,
    };
  }

  /**
   * The issuer's keys, with every failure to fetch them turned into
   * `unavailable`; a key id missing from the set stays a jose error (the
   * token's fault, not the issuer's).
   */
  #remoteKeys(jwksUrl: URL): JWTVerifyGetKey {
    const keySet = createRemoteJWKSet(jwksUrl, {
      timeoutDuration: FETCH_TIMEOUT_MS,
      cooldownDuration: this.#settings.jwksCooldownMs,
      cacheMaxAge: this.#settings.jwksCacheMaxAgeMs,
    });
    // jose applies its cooldown only after a successful fetch; after a failed one,
    // calls fail at once for a while rather than each asking the issuer again.
    let failedUntil = 0;
    return async (header, token) => {
      const waitMs = failedUntil - Date.now();
      if (waitMs > 0) {
        throw new AppError('unavailable', "The identity provider's signing keys could not be fetched", { retryAfterMs: waitMs });
      }
      try {
        return await keySet(header, token);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
        failedUntil = Date.now() + KEYS_RETRY_AFTER_MS;
        this.#log?.warn({ err: error, jwksUrl: jwksUrl.href }, 'OIDC signing keys could not be fetched');
        throw new AppError('unavailable', "The identity provider's signing keys could not be fetched", {
          retryAfterMs: KEYS_RETRY_AFTER_MS,
          cause: error,
        });
      }
    };
  }

  /**
   * Reads `jwks_uri` from the issuer's discovery document, once. Concurrent
   * callers share one request; after a failure every call fails at once
   * until the backoff has passed, and only then is the issuer asked again.
   */
  #discoverKeys(): Promise<JWTVerifyGetKey> {
    const waitMs = this.#discoveryRetryAt - Date.now();
    if (waitMs > 0) {
      return Promise.reject(new AppError('unavailable', 'The identity provider could not be reached', { retryAfterMs: waitMs }));
    }
    this.#discovery ??= this.#discover().finally(() => {
      this.#discovery = undefined;
    });
    return this.#discovery;
  }

  async #discover(): Promise<JWTVerifyGetKey> {
    try {
      const jwksUrl = await discoverJwksUrl(this.#settings.issuer);
      this.#log?.info({ issuer: this.#settings.issuer, jwksUrl: jwksUrl.href }, 'OIDC signing keys discovered');
      this.#keys = this.#remoteKeys(jwksUrl);
      this.#discoveryFailures = 0;
      return this.#keys;
    } catch (error) {
      this.#discoveryFailures += 1;
      const backoffMs = Math.min(DISCOVERY_BACKOFF_MS.first * 2 ** (this.#discoveryFailures - 1), DISCOVERY_BACKOFF_MS.last);
      this.#discoveryRetryAt = Date.now() + backoffMs;
      this.#log?.warn({ err: error, issuer: this.#settings.issuer, retryInMs: backoffMs }, 'OIDC discovery failed');
      throw new AppError('unavailable', 'The identity provider could not be reached', { retryAfterMs: backoffMs, cause: error });
    }
  }
}

/** `jwks_uri` from the discovery document, which must name `issuer` exactly (OpenID Connect Discovery §4.3). */
async function discoverJwksUrl(issuer: string): Promise<URL> {
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`the discovery document answered ${response.status}`);
  const document = discoveryDocument.parse(await response.json());
  if (document.issuer !== issuer) throw new Error(`the discovery document names issuer ${document.issuer}`);
  return new URL(document.jwks_uri);
}

/** `none` and HMAC would let anyone who knows the public key (or no key) sign tokens. */
function assertAsymmetric(algorithms: readonly string[]): void {
  if (algorithms.length === 0) throw new Error('OIDC settings accept no signing algorithm');
  const refused = algorithms.filter((alg) => alg.toLowerCase() === 'none' || alg.toUpperCase().startsWith('HS'));
  if (refused.length > 0) {
    throw new Error(`OIDC tokens must be signed with a private key; not accepted: ${refused.join(', ')}`);
  }
}

/** Absent, `JWT` or `at+jwt` (RFC 9068), in any case, with or without `application/`. */
function isAccessTokenType(typ: unknown): boolean {
  if (typ === undefined) return true;
  if (typeof typ !== 'string') return false;
  const type = typ.toLowerCase().replace(/^application\//, '');
  return type === 'jwt' || type === 'at+jwt';
}

function refusalFor(error: errors.JOSEError): string {
  const refusal = REFUSALS[error.code];
  if (refusal !== undefined) return refusal;
  // The claim's name only (jose's, or one of requiredClaims), never its value.
  if (error instanceof errors.JWTClaimValidationFailed) return `The token's "${error.claim}" claim is not valid`;
  return 'The token is malformed';
}
