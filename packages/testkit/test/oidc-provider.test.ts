import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type OidcProviderHandle } from '../src/oidc-provider.ts';

let provider: OidcProviderHandle;

beforeAll(async () => {
  provider = await startOidcProvider({ audience: 'test-api', accessTokenTtlSeconds: 120 });
});

afterAll(async () => {
  await provider?.close();
});

function decodePart(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString()) as Record<string, unknown>;
}

/** Whether `token`'s RS256 signature holds under a key the provider publishes now. */
async function signedByPublishedKey(token: string): Promise<boolean> {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const { keys } = (await (await fetch(provider.jwksUrl)).json()) as { keys: JsonWebKey[] };
  const key = keys.find((candidate) => candidate.kid === decodePart(header).kid);
  if (!key) return false;
  return verify('sha256', Buffer.from(`${header}.${payload}`), createPublicKey({ key, format: 'jwk' }), Buffer.from(signature, 'base64url'));
}

describe('startOidcProvider', () => {
  it('advertises its issuer and JWKS in its discovery document', async () => {
    const response = await fetch(`${provider.issuer}/.well-known/openid-configuration`);
    expect(await response.json()).toMatchObject({ issuer: provider.issuer, jwks_uri: provider.jwksUrl });
  });

  it('signs in through the code flow and returns a JWT access token for the user', async () => {
    const token = await provider.signIn('alice', { name: 'Alice Liddell' });
    const [header, payload] = token.split('.');

    expect(decodePart(header)).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: provider.signingKey.kid });
    const claims = decodePart(payload);
    expect(claims).toMatchObject({
      iss: provider.issuer,
      aud: 'test-api',
      sub: 'alice',
      preferred_username: 'alice',
      name: 'Alice Liddell',
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(120);
    expect(await signedByPublishedKey(token)).toBe(true);
  });

  it('counts requests to its JWKS', async () => {
    const before = provider.jwksRequests();
    await fetch(provider.jwksUrl);
    await fetch(`${provider.issuer}/.well-known/openid-configuration`);
    expect(provider.jwksRequests()).toBe(before + 1);
  });

  it('signs with the new key after rotateKeys and stops publishing the old one', async () => {
    const oldToken = await provider.signIn('bob');
    const oldKid = provider.signingKey.kid;

    const newKey = await provider.rotateKeys();
    const newToken = await provider.signIn('bob');

    expect(newKey.kid).not.toBe(oldKid);
    expect(provider.signingKey).toEqual(newKey);
    expect(decodePart(newToken.split('.')[0])).toMatchObject({ kid: newKey.kid });
    expect(await signedByPublishedKey(newToken)).toBe(true);
    expect(await signedByPublishedKey(oldToken)).toBe(false);
  });
});
