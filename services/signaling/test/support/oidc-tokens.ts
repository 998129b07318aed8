import type { OidcProviderHandle, SigningJwk } from '@parley/testkit';
import { importJWK, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * An access token with good claims for `provider` (subject `mallory`, valid
 * for 5 minutes), signed by its current key unless told otherwise; `claims`
 * and `header` override, to make it bad in one precise way.
 */
export async function forgeToken(
  provider: OidcProviderHandle,
  claims: JWTPayload = {},
  options: { key?: SigningJwk; header?: Partial<JWTHeaderParameters> } = {},
): Promise<string> {
  const key = options.key ?? provider.signingKey;
  return new SignJWT({
    iss: provider.issuer,
    aud: provider.audience,
    sub: 'mallory',
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...options.header })
    .sign(await importJWK(key, key.alg));
}
