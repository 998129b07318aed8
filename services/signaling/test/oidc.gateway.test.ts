import { createPublicKey } from 'node:crypto';
import { ParleyHttpClient, ParleySocket, type ParleyError } from '@parley/client';
import { startOidcProvider, type OidcProviderHandle } from '@parley/testkit';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeToken, nowSeconds } from './support/oidc-tokens.ts';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { nextEvent, registerUser, TEST_PASSWORD } from './support/users.ts';

let provider: OidcProviderHandle;
let node: TestNode;

beforeAll(async () => {
  provider = await startOidcProvider();
  node = await startTestNode({
    RATE_LIMIT_AUTH: '1000/1m',
    AUTH_MODE: 'both',
    OIDC_ISSUER: provider.issuer,
    OIDC_AUDIENCE: provider.audience,
    OIDC_CLOCK_TOLERANCE_S: '5',
  });
});
afterAll(async () => {
  await node?.stop();
  await provider?.close();
});

function connectWith(token: string, clientInstanceId: string = crypto.randomUUID(), url = node.url): Promise<ParleySocket> {
  return ParleySocket.connect({ url, token, clientInstanceId, reconnection: false });
}

describe('AUTH_MODE=both with a real OpenID provider', () => {
  it('provisions a Parley user on first sight of a token, and the same user after', async () => {
    const token = await provider.signIn('oidc_alice', { name: 'Alice from the IdP' });
    const me = await new ParleyHttpClient(node.url, token).me();
    expect(me).toMatchObject({ username: 'oidc_alice', displayName: 'Alice from the IdP', signInMethods: ['oidc'] });

    const later = await provider.signIn('oidc_alice');
    expect(await new ParleyHttpClient(node.url, later).me()).toMatchObject({ id: me.id });
    const identities = await node.database.db.selectFrom('oidc_identities').selectAll().where('user_id', '=', me.id).execute();
    expect(identities).toEqual([
      { issuer: provider.issuer, subject: 'oidc_alice', user_id: me.id, created_at: expect.any(Date) },
    ]);
  });

  it('accepts the token in the socket handshake, and account_sync flows between OIDC devices', async () => {
    const token = await provider.signIn('oidc_bob');
    const laptop = await connectWith(token, 'bob-laptop');
    const phone = await connectWith(await provider.signIn('oidc_bob'), 'bob-phone');
    const arrival = nextEvent(phone, 'account_sync');
    await laptop.request('account_sync', { payload: { type: 'friend-added', friendId: 'f' } });
    expect(await arrival).toMatchObject({ clientInstanceId: 'bob-laptop' });
    laptop.close();
    phone.close();
  });

  it('keeps password accounts working beside OIDC', async () => {
    const { http } = await registerUser(node.url);
    await expect(http.me()).resolves.toMatchObject({ signInMethods: ['password'] });
  });

  it('logout with an OIDC token changes nothing: the provider ends that session', async () => {
    const http = new ParleyHttpClient(node.url, await provider.signIn('oidc_carol'));
    await http.me();
    const before = await rowCounts(node.database);
    await http.logout();
    expect(await rowCounts(node.database)).toEqual(before);
  });

  it('closes a connection when its access token expires', async () => {
    const socket = await connectWith(await forgeToken(provider, { sub: 'short_lived', exp: nowSeconds() + 2 }));
    expect(await nextEvent(socket, 'session:ended', 5000)).toEqual({ reason: 'expired' });
  });

  const attacks: Array<[string, () => Promise<string>]> = [
    [
      'alg none',
      async () => {
        const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const claims = { iss: provider.issuer, aud: provider.audience, sub: 'mallory', exp: nowSeconds() + 300 };
        return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
      },
    ],
    [
      'HS256 signed with the RSA public key',
      async () => {
        const publicPem = createPublicKey({ key: provider.signingKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
        return new SignJWT({ iss: provider.issuer, aud: provider.audience, sub: 'mallory', exp: nowSeconds() + 300 })
          .setProtectedHeader({ alg: 'HS256', kid: provider.signingKey.kid })
          .sign(new TextEncoder().encode(publicPem.toString()));
      },
    ],
    ['a wrong issuer', () => forgeToken(provider, { iss: 'https://evil.example' })],
    ['a wrong audience', () => forgeToken(provider, { aud: 'someone-else' })],
    ['an expired token', () => forgeToken(provider, { exp: nowSeconds() - 60 })],
    ['a token not yet valid', () => forgeToken(provider, { nbf: nowSeconds() + 600 })],
    ['an unknown key id', () => forgeToken(provider, {}, { header: { kid: 'no-such-key' } })],
  ];

  it.each(attacks)('refuses %s over REST (401) and in the handshake (auth_error), provisioning nobody', async (_label, make) => {
    const token = await make();
    const before = await rowCounts(node.database);
    await expect(new ParleyHttpClient(node.url, token).me()).rejects.toMatchObject({ code: 'auth_error', status: 401 });
    const refused = await connectWith(token).catch((error: ParleyError) => error);
    expect(refused).toMatchObject({ code: 'auth_error' });
    expect(await rowCounts(node.database)).toEqual(before);
  });
});

describe('the Gryt seed’s GRYT_AUTH_MODE=required', () => {
  it('accepts only OIDC tokens: passwords and session tokens are refused', async () => {
    const session = (await registerUser(node.url)).session;
    const oidcOnly = await startTestNode({
      GRYT_AUTH_MODE: 'required',
      GRYT_OIDC_ISSUER: provider.issuer,
      GRYT_OIDC_AUDIENCE: provider.audience,
    });
    try {
      const http = new ParleyHttpClient(oidcOnly.url);
      await expect(http.login({ username: session.username, password: TEST_PASSWORD })).rejects.toMatchObject({
        code: 'auth_method_disabled',
        status: 403,
      });
      await expect(new ParleyHttpClient(oidcOnly.url, session.token).me()).rejects.toMatchObject({ code: 'auth_error' });
      await expect(new ParleyHttpClient(oidcOnly.url, await provider.signIn('oidc_dave')).me()).resolves.toMatchObject({
        username: 'oidc_dave',
      });
    } finally {
      await oidcOnly.stop();
    }
  });
});
