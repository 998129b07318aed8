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
