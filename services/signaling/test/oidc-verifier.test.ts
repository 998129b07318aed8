import { createPublicKey, randomUUID, type JsonWebKey } from 'node:crypto';
import http from 'node:http';
import { freePort, startOidcProvider, type OidcProviderHandle, type SigningJwk } from '@parley/testkit';
import { exportJWK, generateKeyPair, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JoseOidcVerifier } from '../src/adapters/jose/oidc-verifier.ts';
import type { OidcSettings } from '../src/domain/accounts/oidc-token-verifier.ts';
import { AppError } from '../src/errors.ts';
import { forgeToken, nowSeconds } from './support/oidc-tokens.ts';

const CLOCK_TOLERANCE_S = 5;

let provider: OidcProviderHandle;

beforeAll(async () => {
  provider = await startOidcProvider();
});

afterAll(async () => {
  await provider?.close();
});

function settingsFor(idp: OidcProviderHandle, overrides: Partial<OidcSettings> = {}): OidcSettings {
  return {
    issuer: idp.issuer,
    audience: [idp.audience],
    algorithms: ['RS256'],
    jwksUrl: idp.jwksUrl,
    clockToleranceSeconds: CLOCK_TOLERANCE_S,
    jwksCooldownMs: 30_000,
    jwksCacheMaxAgeMs: 600_000,
    usernameClaim: 'preferred_username',
    ...overrides,
  };
}

/** A token with good claims for `provider`, signed by its key unless told otherwise. */
function forge(claims: JWTPayload = {}, options: { key?: SigningJwk; header?: Partial<JWTHeaderParameters> } = {}): Promise<string> {
  return forgeToken(provider, claims, options);
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function newSigningKey(): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256' };
}

/** The provider's public key for `kid`, as its JWKS publishes it. */
async function publishedKey(kid: string): Promise<JsonWebKey> {
  const { keys } = (await (await fetch(provider.jwksUrl)).json()) as { keys: JsonWebKey[] };
  const key = keys.find((candidate) => candidate.kid === kid);
  if (!key) throw new Error(`the JWKS has no key ${kid}`);
  return key;
}

/** The AppError `verify` rejects with; fails the test when it resolves. */
async function refusal(verifier: JoseOidcVerifier, token: string): Promise<AppError> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).message).not.toContain(token);
  return error as AppError;
}

describe('JoseOidcVerifier against a real OpenID provider', () => {
  it('verifies an access token from a real sign-in, finding the keys through discovery', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider, { jwksUrl: undefined }));
    const token = await provider.signIn('alice', { name: 'Alice Liddell' });

    const identity = await verifier.verify(token);

    expect(identity).toMatchObject({
      issuer: provider.issuer,
      subject: 'alice',
      username: 'alice',
      displayName: 'Alice Liddell',
    });
    expect(identity.expiresAt).toBeGreaterThan(Date.now());
    expect(identity.expiresAt).toBeLessThanOrEqual(Date.now() + 300_000 + 1000);
  });

  it('verifies a token the test signs with the trusted key (the baseline for the forgeries below)', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider));
    const identity = await verifier.verify(await forge({ preferred_username: 42 }));
    expect(identity).toMatchObject({ subject: 'mallory', username: undefined, displayName: undefined });
  });

  it('refuses an unsigned token (alg none)', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider));
    const payload = { iss: provider.issuer, aud: provider.audience, sub: 'mallory', exp: nowSeconds() + 300 };
    const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(payload)}.`;
    expect((await refusal(verifier, token)).code).toBe('auth_error');
  });

  it('refuses HS256 tokens keyed with the public RSA key (key confusion), as PEM and as JWK JSON', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider));
    const { kid } = provider.signingKey;
    const publicJwk = await publishedKey(kid);
    const pem = createPublicKey({ key: publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();

    for (const secret of [pem, JSON.stringify(publicJwk)]) {
      const token = await new SignJWT({ iss: provider.issuer, aud: provider.audience, sub: 'mallory', exp: nowSeconds() + 300 })
        .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
        .sign(new TextEncoder().encode(secret));
      expect((await refusal(verifier, token)).code).toBe('auth_error');
    }
  });

  it('refuses a token from another issuer', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider));
    const error = await refusal(verifier, await forge({ iss: 'https://impostor.example' }));
    expect(error.code).toBe('auth_error');
  });

  it('refuses a token for another audience', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider));
    const error = await refusal(verifier, await forge({ aud: 'someone-else-api' }));
    expect(error.code).toBe('auth_error');
  });

  it('refuses a token that expired longer ago than the clock tolerance', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider));
    const expiredAt = nowSeconds() - CLOCK_TOLERANCE_S - 60;
    const error = await refusal(verifier, await forge({ iat: expiredAt - 300, exp: expiredAt }));
    expect(error.code).toBe('auth_error');
  });

  it('refuses a token that becomes valid later than the clock tolerance (nbf)', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider));
    const error = await refusal(verifier, await forge({ nbf: nowSeconds() + CLOCK_TOLERANCE_S + 60 }));
    expect(error.code).toBe('auth_error');
  });

  it('refuses a real token whose payload was changed after signing', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider));
    const [header = '', payload = '', signature = ''] = (await provider.signIn('bob')).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as JWTPayload;
    const tampered = `${header}.${base64url({ ...claims, sub: 'admin', preferred_username: 'admin' })}.${signature}`;
    expect((await refusal(verifier, tampered)).code).toBe('auth_error');
  });

  it('refuses a token signed by an unknown key with an unknown kid', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider));
    const error = await refusal(verifier, await forge({}, { key: await newSigningKey() }));
    expect(error.code).toBe('auth_error');
  });

  it('refuses a token whose typ says it is not an access token', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider));
    for (const typ of ['JWT', 'application/AT+JWT']) {
      await expect(verifier.verify(await forge({}, { header: { typ } }))).resolves.toMatchObject({ subject: 'mallory' });
    }
    const error = await refusal(verifier, await forge({}, { header: { typ: 'dpop+jwt' } }));
    expect(error.code).toBe('auth_error');
  });

  it('fetches the JWKS at most once more within the cooldown, however many unknown kids arrive', async () => {
    const verifier = new JoseOidcVerifier(settingsFor(provider, { jwksCooldownMs: 60_000 }));
    await verifier.verify(await provider.signIn('carol'));
    const before = provider.jwksRequests();
    const unknownKey = await newSigningKey();
    const forgeries = () =>
      Promise.all(Array.from({ length: 50 }, () => forge({}, { key: { ...unknownKey, kid: randomUUID() } })));

    const concurrent = await Promise.all((await forgeries()).map((token) => refusal(verifier, token)));
    const sequential: AppError[] = [];
    for (const token of await forgeries()) sequential.push(await refusal(verifier, token));

    expect([...concurrent, ...sequential].map((error) => error.code)).toEqual(Array(100).fill('auth_error'));
    expect(provider.jwksRequests() - before).toBeLessThanOrEqual(1);
  });

  it('accepts tokens signed with a rotated key once the cooldown has passed, and drops the removed key', async () => {
    const rotating = await startOidcProvider();
    try {
      const verifier = new JoseOidcVerifier(settingsFor(rotating, { jwksCooldownMs: 200 }));
      const oldToken = await rotating.signIn('dave');
      await verifier.verify(oldToken);

      const newKey = await rotating.rotateKeys([await newSigningKey()]);
      const newToken = await rotating.signIn('dave');
      expect(JSON.parse(Buffer.from(newToken.split('.')[0] ?? '', 'base64url').toString())).toMatchObject({ kid: newKey.kid });

      const deadline = Date.now() + 5000;
      let identity = await verifier.verify(newToken).catch(() => undefined);
      while (identity === undefined && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        identity = await verifier.verify(newToken).catch(() => undefined);
      }
      expect(identity).toMatchObject({ subject: 'dave' });
      expect((await refusal(verifier, oldToken)).code).toBe('auth_error');
    } finally {
      await rotating.close();
    }
  });

  it('answers unavailable when the JWKS cannot be fetched', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const verifier = new JoseOidcVerifier(settingsFor(provider, { jwksUrl: `${closed}/jwks` }));
    const error = await refusal(verifier, await provider.signIn('erin'));
    expect(error).toMatchObject({ code: 'unavailable', retryAfterMs: 1000 });
  });

  it('asks a failing JWKS endpoint once per second, not once per token', async () => {
    const failing = await startFailingServer();
    try {
      const verifier = new JoseOidcVerifier(settingsFor(provider, { jwksUrl: `${failing.url}/jwks` }));
      const token = await provider.signIn('grace');
      const outcomes = [];
      const started = Date.now();
      for (let call = 0; call < 20; call += 1) outcomes.push(await refusal(verifier, token));
      const elapsedMs = Date.now() - started;
      expect(outcomes.map((error) => error.code)).toEqual(Array(20).fill('unavailable'));
      // One request, and one more per second the calls took (a loaded machine may take over a second for them).
      expect(failing.requests()).toBeGreaterThanOrEqual(1);
      expect(failing.requests()).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / 1000));
    } finally {
      await failing.close();
    }
  });

  it('answers unavailable when the issuer cannot be reached for discovery', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const verifier = new JoseOidcVerifier(settingsFor(provider, { issuer: closed, jwksUrl: undefined }));
    const error = await refusal(verifier, await provider.signIn('frank'));
    expect(error.code).toBe('unavailable');
    expect(error.retryAfterMs).toBeGreaterThan(0);
  });

  it('asks a failing issuer for discovery once per backoff, not once per token', async () => {
    const failing = await startFailingServer();
    try {
      const verifier = new JoseOidcVerifier(settingsFor(provider, { issuer: failing.url, jwksUrl: undefined }));
      const token = await forge();

      const started = Date.now();
      const flood = await Promise.all(Array.from({ length: 20 }, () => refusal(verifier, token)));
      for (let call = 0; call < 20; call += 1) flood.push(await refusal(verifier, token));
      const elapsedMs = Date.now() - started;
      expect(flood.map((error) => error.code)).toEqual(Array(40).fill('unavailable'));
      // The 20 at once share one request; the backoff starts at a second and doubles: calls that took
      // under a second made one request, slower ones (a loaded machine) at most one more per second.
      const asked = failing.requests();
      expect(asked).toBeGreaterThanOrEqual(1);
      expect(asked).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / 1000));

      // Once the backoff has passed the issuer is asked again, once.
      const deadline = Date.now() + 5000;
      while (failing.requests() === asked && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await verifier.verify(token).catch(() => undefined);
      }
      expect(failing.requests()).toBe(asked + 1);
    } finally {
      await failing.close();
    }
  });
});

/** An HTTP server on loopback that answers every request with 503, counting them. */
async function startFailingServer(): Promise<{ url: string; requests(): number; close(): Promise<void> }> {
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests += 1;
    res.writeHead(503).end();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('JoseOidcVerifier settings', () => {
  it.each([[['none']], [['HS256']], [['RS256', 'hs512']], [[]]])('refuses to accept algorithms %j', (algorithms) => {
    expect(() => new JoseOidcVerifier(settingsFor(provider, { algorithms }))).toThrow(/algorithm|not accepted/);
  });
});
