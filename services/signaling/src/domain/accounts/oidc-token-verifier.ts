/** What Parley takes from a verified OIDC access token. */
export interface OidcIdentityClaims {
  /** `iss`, exactly as configured. */
  issuer: string;
  /** `sub`: with the issuer, the stable identity of the person. */
  subject: string;
  /** The configured username claim (`preferred_username` by default), when present. */
  username: string | undefined;
  /** `name`, when present. */
  displayName: string | undefined;
  /** `exp`, in milliseconds since the epoch. */
  expiresAt: number;
}

/**
 * Verifies an OIDC access token (a JWT) against the issuer's keys.
 * Throws `AppError('auth_error')` for any token that is not valid now, and
 * `AppError('unavailable')` when the issuer's keys cannot be fetched.
 */
export interface OidcTokenVerifier {
  verify(token: string): Promise<OidcIdentityClaims>;
}

/** How tokens from the configured issuer are checked (from `OIDC_*` variables). */
export interface OidcSettings {
  readonly issuer: string;
  /** Every token must name at least one of these in `aud`. */
  readonly audience: readonly string[];
  /** Accepted `alg` values; nothing else is ever accepted, `none` and HMAC never. */
  readonly algorithms: readonly string[];
  /** The JWKS address; when absent it is read from the issuer's discovery document. */
  readonly jwksUrl: string | undefined;
  readonly clockToleranceSeconds: number;
  /** The least time between two JWKS fetches caused by unknown key ids. */
  readonly jwksCooldownMs: number;
  /** How long fetched keys are trusted before they are fetched again. */
  readonly jwksCacheMaxAgeMs: number;
  /** The claim read as the username of a newly provisioned user. */
  readonly usernameClaim: string;
}
