import { createHash } from 'node:crypto';
import { ParleyHttpClient, ParleySocket } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { registerUser, TEST_PASSWORD } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m' });
});
afterAll(() => node.stop());

async function send(method: string, path: string, options: { token?: string; body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: options.body,
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as { error?: { code: string } } | undefined };
}

describe('POST /api/users/register and /api/users/login', () => {
  it('register returns a 64-hex token and stores only its SHA-256', async () => {
    const { session } = await registerUser(node.url, 'Alice');
    expect(session).toMatchObject({ username: 'Alice', displayName: 'Alice' });
    expect(session.token).toMatch(/^[0-9a-f]{64}$/);
    expect(session.expiresAt).toBeGreaterThan(Date.now() + 9 * 365 * 24 * 3600 * 1000);

    const stored = await node.database.db.selectFrom('sessions').select('token_hash').where('user_id', '=', session.id).execute();
    expect(stored).toEqual([{ token_hash: createHash('sha256').update(session.token).digest('hex') }]);
    const user = await node.database.db.selectFrom('users').select('password_hash').where('id', '=', session.id).executeTakeFirst();
    expect(user?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  });

  it('login opens a second session and leaves the first valid', async () => {
    const { session: first } = await registerUser(node.url, 'bob');
    const second = await new ParleyHttpClient(node.url).login({ username: 'BOB', password: TEST_PASSWORD });
    expect(second.id).toBe(first.id);
    expect(second.token).not.toBe(first.token);
    for (const token of [first.token, second.token]) {
      await expect(new ParleyHttpClient(node.url, token).createServer({ name: 'ok' })).resolves.toBeDefined();
    }
  });

  it('rejects a taken username regardless of case, and writes nothing', async () => {
    await registerUser(node.url, 'carol');
    const before = await rowCounts(node.database);
    await expect(registerUser(node.url, 'CAROL')).rejects.toMatchObject({ code: 'username_taken', status: 409 });
    expect(await rowCounts(node.database)).toEqual(before);
  });

  it('answers a wrong password and an unknown user alike', async () => {
    await registerUser(node.url, 'dave');
    const http = new ParleyHttpClient(node.url);
    await expect(http.login({ username: 'dave', password: 'wrong password' })).rejects.toMatchObject({
      code: 'invalid_credentials',
      status: 401,
    });
    await expect(http.login({ username: 'nobody', password: 'wrong password' })).rejects.toMatchObject({
      code: 'invalid_credentials',
      status: 401,
    });
  });
});

describe('POST /api/users/logout', () => {
  it('revokes that token only (204), after which it is refused', async () => {
    const { session, http } = await registerUser(node.url);
    const other = await new ParleyHttpClient(node.url).login({ username: session.username, password: TEST_PASSWORD });

    await http.logout();
    expect(await send('GET', '/api/users/me', { token: session.token })).toMatchObject({ status: 401, body: { error: { code: 'auth_error' } } });
    await expect(new ParleyHttpClient(node.url, other.token).me()).resolves.toMatchObject({ id: session.id });
  });

  it('needs a token', async () => {
    expect(await send('POST', '/api/users/logout')).toMatchObject({ status: 401, body: { error: { code: 'auth_required' } } });
  });
});

describe('GET and PATCH /api/users/me', () => {
  it('returns the signed-in account', async () => {
    const { session, http } = await registerUser(node.url);
    expect(await http.me()).toEqual({
      id: session.id,
      username: session.username,
      displayName: session.username,
      avatarFileId: null,
      createdAt: expect.any(String),
      signInMethods: ['password'],
    });
  });

  it('changes the display name; a user id in the body changes nothing', async () => {
    const { session, http } = await registerUser(node.url);
    const { session: victim, http: victimHttp } = await registerUser(node.url);
    const updated = await http.request('PATCH', '/api/users/me', { displayName: '  New Name ', id: victim.id, userId: victim.id });
    expect(updated).toMatchObject({ id: session.id, displayName: 'New Name' });
    expect(await victimHttp.me()).toMatchObject({ displayName: victim.username });
  });

  it('changes the password and, on request, signs out every other session', async () => {
    const { session, http } = await registerUser(node.url);
    const elsewhere = await new ParleyHttpClient(node.url).login({ username: session.username, password: TEST_PASSWORD });

    await http.updateMe({ currentPassword: TEST_PASSWORD, newPassword: 'brand new password', revokeOtherSessions: true });
    await expect(http.me()).resolves.toMatchObject({ id: session.id });
    await expect(new ParleyHttpClient(node.url, elsewhere.token).me()).rejects.toMatchObject({ code: 'auth_error' });
    await expect(new ParleyHttpClient(node.url).login({ username: session.username, password: 'brand new password' })).resolves.toBeDefined();
  });

  it.each([
    ['an empty change', '{}', 400, 'invalid_payload'],
    ['a wrong current password', JSON.stringify({ currentPassword: 'not it at all', newPassword: 'brand new password' }), 403, 'wrong_password'],
    ['a missing current password', JSON.stringify({ newPassword: 'brand new password' }), 400, 'invalid_payload'],
    ['a short new password', JSON.stringify({ currentPassword: TEST_PASSWORD, newPassword: 'short' }), 400, 'invalid_payload'],
    ['revokeOtherSessions alone', JSON.stringify({ revokeOtherSessions: true }), 400, 'invalid_payload'],
    ['a display name of the wrong type', JSON.stringify({ displayName: 42 }), 400, 'invalid_payload'],
    ['an oversized display name', JSON.stringify({ displayName: 'n'.repeat(65) }), 400, 'invalid_payload'],
  ])('refuses %s and changes nothing', async (_label, body, status, code) => {
    const { session } = await registerUser(node.url);
    const before = await node.database.db.selectFrom('users').selectAll().where('id', '=', session.id).executeTakeFirstOrThrow();
    expect(await send('PATCH', '/api/users/me', { token: session.token, body })).toMatchObject({ status, body: { error: { code } } });
    expect(await node.database.db.selectFrom('users').selectAll().where('id', '=', session.id).executeTakeFirstOrThrow()).toEqual(before);
  });
});

describe('/api/users/device-tokens', () => {
  it('lists, adds (201 new, 200 again) and removes the caller’s own tokens', async () => {
    const { http } = await registerUser(node.url);
    const token = `fcm-${crypto.randomUUID()}`;
    const added = await http.addDeviceToken({ platform: 'fcm', token });
    expect(added).toMatchObject({ id: expect.any(String), platform: 'fcm', token });
    const again = await send('POST', '/api/users/device-tokens', { token: http.token, body: JSON.stringify({ platform: 'fcm', token }) });
    expect(again.status).toBe(200);
    expect(await http.listDeviceTokens()).toEqual([{ ...added, updatedAt: expect.any(String) }]);

    await http.removeDeviceToken(added.id);
    expect(await http.listDeviceTokens()).toEqual([]);
    await expect(http.removeDeviceToken(added.id)).rejects.toMatchObject({ code: 'not_found', status: 404 });
  });

  it('never shows or removes another user’s token', async () => {
    const { http: owner } = await registerUser(node.url);
    const { http: stranger } = await registerUser(node.url);
    const added = await owner.addDeviceToken({ platform: 'apns', token: `apns-${crypto.randomUUID()}` });
    expect(await stranger.listDeviceTokens()).toEqual([]);
    await expect(stranger.removeDeviceToken(added.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(await owner.listDeviceTokens()).toEqual([added]);
  });

  it.each([
    ['no token', 'GET', '/api/users/device-tokens', undefined, false, 401, 'auth_required'],
    ['an unknown platform', 'POST', '/api/users/device-tokens', '{"platform":"pager","token":"x"}', true, 400, 'invalid_payload'],
    ['an empty token', 'POST', '/api/users/device-tokens', '{"platform":"web","token":"  "}', true, 400, 'invalid_payload'],
    ['an oversized token', 'POST', '/api/users/device-tokens', JSON.stringify({ platform: 'web', token: 'x'.repeat(4097) }), true, 400, 'invalid_payload'],
    ['a malformed id', 'DELETE', '/api/users/device-tokens/1%20or%201=1', undefined, true, 404, 'not_found'],
  ])('answers %s with a clear error and writes nothing', async (_label, method, path, body, signedIn, status, code) => {
    const { session } = await registerUser(node.url);
    const before = await node.database.db.selectFrom('device_tokens').select('id').execute();
    const response = await send(method, path, { token: signedIn ? session.token : undefined, body });
    expect(response).toMatchObject({ status, body: { error: { code } } });
    expect(await node.database.db.selectFrom('device_tokens').select('id').execute()).toEqual(before);
  });
});

describe('client IP behind proxies', () => {
  async function loginCodes(url: string, forwardedFor: string[]): Promise<string[]> {
    const codes: string[] = [];
    for (const address of forwardedFor) {
      const response = await fetch(`${url}/api/users/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': address },
        body: '{"username":"nobody","password":"whatever1"}',
      });
      codes.push(((await response.json()) as { error: { code: string } }).error.code);
    }
    return codes;
  }

  it('ignores X-Forwarded-For when no proxy is trusted: a client cannot spoof its way past the limit', async () => {
    const limited = await startTestNode({ RATE_LIMIT_AUTH: '2/1m' });
    try {
      const before = await rowCounts(limited.database);
      expect(await loginCodes(limited.url, ['10.0.0.1', '10.0.0.2', '10.0.0.3'])).toEqual([
        'invalid_credentials',
        'invalid_credentials',
        'rate_limited',
      ]);
      expect(await rowCounts(limited.database)).toEqual(before);
    } finally {
      await limited.stop();
    }
  });

  it('believes the proxy’s X-Forwarded-For with TRUST_PROXY_HOPS=1', async () => {
    const limited = await startTestNode({ RATE_LIMIT_AUTH: '2/1m', TRUST_PROXY_HOPS: '1' });
    try {
      expect(await loginCodes(limited.url, ['10.0.0.1', '10.0.0.1', '10.0.0.1', '10.0.0.2'])).toEqual([
        'invalid_credentials',
        'invalid_credentials',
        'rate_limited',
        'invalid_credentials',
      ]);
    } finally {
      await limited.stop();
    }
  });
});

describe('AUTH_MODE=disabled (the server lock)', () => {
  it('refuses registration, sign-in and every connection with auth_disabled', async () => {
    const locked = await startTestNode({ AUTH_MODE: 'disabled' });
    try {
      const http = new ParleyHttpClient(locked.url);
      const refusals = await Promise.allSettled([
        http.register({ username: 'locked_out', password: TEST_PASSWORD }),
        http.login({ username: 'locked_out', password: TEST_PASSWORD }),
      ]);
      for (const refusal of refusals) {
        expect(refusal).toMatchObject({ status: 'rejected', reason: { code: 'auth_disabled', status: 403 } });
      }
      expect((await rowCounts(locked.database)).users).toBe(0);
      const connection = await ParleySocket.connect({ url: locked.url, token: 'a'.repeat(64), reconnection: false }).catch(
        (error: unknown) => error,
      );
      expect(connection).toMatchObject({ code: 'auth_disabled' });
    } finally {
      await locked.stop();
    }
  });
});
