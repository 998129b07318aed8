import { createHash } from 'node:crypto';
import { ParleyError, ParleyHttpClient } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { registerUser } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m' });
});
afterAll(() => node.stop());

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${node.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
}

describe('health', () => {
  it('/health answers while the process lives; /ready names each dependency', async () => {
    expect(await (await fetch(`${node.url}/health`)).json()).toEqual({ status: 'ok', nodeId: 'test-node' });
    const ready = await fetch(`${node.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
  });

  it('/metrics exports runtime, HTTP and socket metrics in the Prometheus text format', async () => {
    await fetch(`${node.url}/health`);
    const response = await fetch(`${node.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toMatch(/parley_http_requests_total\{method="GET",route="\/health",status="200"\} \d+/);
    expect(text).toContain('parley_http_request_duration_seconds_bucket');
    expect(text).toContain('parley_socket_connections 0');
  });

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const kept = await fetch(`${node.url}/health`, { headers: { 'X-Request-Id': 'abc-123' } });
    expect(kept.headers.get('x-request-id')).toBe('abc-123');
    const replaced = await fetch(`${node.url}/health`, { headers: { 'X-Request-Id': 'has spaces and <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('accounts', () => {
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
    const second = await new ParleyHttpClient(node.url).login({ username: 'BOB', password: 'correct horse battery' });
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

describe('communities', () => {
  it('creates a server with a default text channel, owned by its creator who is a member', async () => {
    const { session, http } = await registerUser(node.url);
    const server = await http.createServer({ name: '  Gamers  ', description: 'we play' });
    expect(server).toMatchObject({ name: 'Gamers', description: 'we play', ownerId: session.id, memberCount: 1 });
    expect(server.channels).toEqual([
      { id: expect.any(String), serverId: server.id, name: 'general', type: 'text', position: 0, overrides: [] },
    ]);
    const roles = await node.database.db.selectFrom('roles').select(['builtin', 'rank']).where('server_id', '=', server.id).execute();
    expect(roles.map((role) => [role.builtin, role.rank]).sort()).toEqual([
      ['admin', 900],
      ['guest', 10],
      ['member', 100],
      ['moderator', 500],
    ]);
    const members = await node.database.db.selectFrom('members').selectAll().where('server_id', '=', server.id).execute();
    expect(members).toMatchObject([{ user_id: session.id, active: true }]);
  });

  it('ignores an owner id forged in the body: the actor comes from the token', async () => {
    const { session, http } = await registerUser(node.url);
    const { session: victim } = await registerUser(node.url);
    const server = await http.request<{ ownerId: string }>('POST', '/api/servers', { name: 'mine', ownerId: victim.id });
    expect(server.ownerId).toBe(session.id);
  });
});

describe('bad input: a clear error, the process stays up, nothing is written', () => {
  let token: string;
  beforeAll(async () => {
    token = (await registerUser(node.url)).session.token;
  });

  const cases: Array<[string, string, string, Record<string, string> | undefined, number, string]> = [
    ['malformed JSON', '/api/users/register', '{"username": "x",', undefined, 400, 'invalid_json'],
    ['a JSON array', '/api/users/register', '[1,2]', undefined, 400, 'invalid_payload'],
    ['wrong types', '/api/users/register', '{"username": 12, "password": true}', undefined, 400, 'invalid_payload'],
    ['missing fields', '/api/users/register', '{"username": "erin"}', undefined, 400, 'invalid_payload'],
    ['a hostile username', '/api/users/register', '{"username": "x\'; drop table users;--", "password": "long enough"}', undefined, 400, 'invalid_payload'],
    ['an oversized body', '/api/users/register', JSON.stringify({ username: 'big', password: 'x'.repeat(200_000) }), undefined, 413, 'payload_too_large'],
    ['no bearer token', '/api/servers', '{"name": "s"}', {}, 401, 'auth_required'],
    ['a malformed Authorization header', '/api/servers', '{"name": "s"}', { Authorization: 'Token abc' }, 401, 'auth_error'],
    ['an unknown token', '/api/servers', '{"name": "s"}', { Authorization: `Bearer ${'0'.repeat(64)}` }, 401, 'auth_error'],
    ['an empty server name', '/api/servers', '{"name": "   "}', undefined, 400, 'invalid_payload'],
    ['an oversized server name', '/api/servers', JSON.stringify({ name: 'n'.repeat(101) }), undefined, 400, 'invalid_payload'],
  ];

  it.each(cases)('%s', async (_label, path, body, headers, status, code) => {
    const before = await rowCounts(node.database);
    const response = await post(path, body, headers ?? { Authorization: `Bearer ${token}` });
    expect(response.status).toBe(status);
    expect(response.body.error).toMatchObject({ code, message: expect.any(String) });
    expect(await rowCounts(node.database)).toEqual(before);
  });

  it('lists every invalid field in details', async () => {
    const response = await post('/api/users/register', '{"username": 1, "password": 2}');
    expect(response.body.error).toMatchObject({
      code: 'invalid_payload',
      details: expect.arrayContaining([
        expect.objectContaining({ path: 'username' }),
        expect.objectContaining({ path: 'password' }),
      ]),
    });
  });

  it('answers unknown routes with not_found', async () => {
    const response = await fetch(`${node.url}/api/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'not_found', message: 'Not found' } });
  });

  it('history of an unknown channel, a malformed id, and a channel of another community', async () => {
    const outsider = new ParleyHttpClient(node.url, token);
    const { http: owner } = await registerUser(node.url);
    const server = await owner.createServer({ name: 'private' });
    const channelId = server.channels[0]!.id;

    await expect(outsider.fetchMessages('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'channel_not_found',
      status: 404,
    });
    await expect(outsider.fetchMessages('not-a-uuid')).rejects.toMatchObject({ code: 'channel_not_found', status: 404 });
    await expect(outsider.fetchMessages(channelId)).rejects.toMatchObject({ code: 'not_a_member', status: 403 });
    await expect(outsider.fetchMessages(channelId, { before: 'yesterday' })).rejects.toBeInstanceOf(ParleyError);
    await expect(owner.fetchMessages(channelId, { limit: 500 })).resolves.toEqual({ items: [], hasMore: false });
  });

  it('still serves after all of it', async () => {
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  });
});

describe('rate limits', () => {
  it('limits login and register per client IP with 429 and Retry-After', async () => {
    const limited = await startTestNode({ RATE_LIMIT_AUTH: '3/1m' });
    try {
      const http = new ParleyHttpClient(limited.url);
      const attempts = await Promise.allSettled(
        Array.from({ length: 5 }, () => http.login({ username: 'nobody', password: 'whatever1' })),
      );
      const codes = attempts.map((attempt) => (attempt.status === 'rejected' ? (attempt.reason as ParleyError).code : 'ok'));
      expect(codes.filter((code) => code === 'invalid_credentials')).toHaveLength(3);
      expect(codes.filter((code) => code === 'rate_limited')).toHaveLength(2);

      const response = await fetch(`${limited.url}/api/users/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"username":"nobody","password":"whatever1"}',
      });
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = (await response.json()) as { error: { retryAfterMs: number } };
      expect(body.error.retryAfterMs).toBeGreaterThan(0);
    } finally {
      await limited.stop();
    }
  });

  it('limits community writes per credential (reads are free) and public discovery per client IP', async () => {
    const limited = await startTestNode({ RATE_LIMIT_COMMUNITY_WRITE: '3/1m', RATE_LIMIT_DISCOVERY: '2/1m' });
    try {
      const { http } = await registerUser(limited.url);
      const { http: other } = await registerUser(limited.url);
      const server = await http.createServer({ name: 'busy' });
      for (let i = 0; i < 2; i++) await http.request('PUT', `/api/servers/${server.id}`, { name: `busy ${i}` });
      await expect(http.request('PUT', `/api/servers/${server.id}`, { name: 'one too many' })).rejects.toMatchObject({
        code: 'rate_limited',
        status: 429,
      });
      await expect(http.request('GET', `/api/servers/${server.id}/roles`)).resolves.toMatchObject({ items: expect.any(Array) });
      // Another account has its own budget.
      await expect(other.createServer({ name: 'mine' })).resolves.toMatchObject({ name: 'mine' });
      const rows = await limited.database.db.selectFrom('servers').select('name').where('id', '=', server.id).executeTakeFirstOrThrow();
      expect(rows.name).toBe('busy 1');

      const anonymous = new ParleyHttpClient(limited.url);
      await anonymous.request('GET', '/api/servers');
      await anonymous.request('GET', '/api/servers/trending');
      await expect(anonymous.request('GET', '/api/servers/search?q=busy')).rejects.toMatchObject({ code: 'rate_limited' });
    } finally {
      await limited.stop();
    }
  });
});
