import { randomBytes, randomUUID } from 'node:crypto';
import { limits } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { registerUser, type TestUser } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m' });
});
afterAll(() => node.stop());

async function send(method: string, path: string, options: { token?: string; body?: unknown; url?: string } = {}) {
  const response = await fetch(`${options.url ?? node.url}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> | undefined };
}

const block = (user: TestUser, userId: string) => send('PUT', `/api/users/me/blocks/${userId}`, { token: user.session.token });
const unblock = (user: TestUser, userId: string) => send('DELETE', `/api/users/me/blocks/${userId}`, { token: user.session.token });
const list = (user: TestUser) => send('GET', '/api/users/me/blocks', { token: user.session.token });

async function blockRows(): Promise<number> {
  const row = await node.database.db
    .selectFrom('user_blocks')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

describe('/api/users/me/blocks', () => {
  it('blocks (204), lists newest first with names, and unblocks (204)', async () => {
    const me = await registerUser(node.url);
    const [first, second] = [await registerUser(node.url), await registerUser(node.url)];

    expect(await list(me)).toEqual({ status: 200, body: { items: [] } });
    expect(await block(me, first.session.id)).toEqual({ status: 204, body: undefined });
    expect(await block(me, second.session.id)).toEqual({ status: 204, body: undefined });

    const { status, body } = await list(me);
    expect(status).toBe(200);
    expect(body).toEqual({
      items: [
        { userId: second.session.id, username: second.session.username, displayName: second.session.username, createdAt: expect.any(String) },
        { userId: first.session.id, username: first.session.username, displayName: first.session.username, createdAt: expect.any(String) },
      ],
    });

    expect(await unblock(me, second.session.id)).toEqual({ status: 204, body: undefined });
    expect((await list(me)).body).toEqual({ items: [expect.objectContaining({ userId: first.session.id })] });
  });

  it('is idempotent: blocking twice keeps one block with its first date, unblocking twice succeeds', async () => {
    const me = await registerUser(node.url);
    const other = await registerUser(node.url);

    await block(me, other.session.id);
    const before = (await list(me)).body;
    expect(await block(me, other.session.id)).toMatchObject({ status: 204 });
    expect((await list(me)).body).toEqual(before);

    expect(await unblock(me, other.session.id)).toMatchObject({ status: 204 });
    expect(await unblock(me, other.session.id)).toMatchObject({ status: 204 });
    expect((await list(me)).body).toEqual({ items: [] });
  });

  it('accepts an id in upper case as the same user', async () => {
    const me = await registerUser(node.url);
    const other = await registerUser(node.url);
    expect(await block(me, other.session.id.toUpperCase())).toMatchObject({ status: 204 });
    expect((await list(me)).body).toEqual({ items: [expect.objectContaining({ userId: other.session.id })] });
  });

  it.each([
    ['oneself', 'PUT', (me: TestUser) => me.session.id, 400, 'invalid_target'],
    ['an unknown user', 'PUT', () => randomUUID(), 404, 'user_not_found'],
    ['a malformed id', 'PUT', () => 'not-a-uuid', 404, 'user_not_found'],
    ['an id with trailing junk', 'PUT', () => `${randomUUID()}x`, 404, 'user_not_found'],
    ['unblocking an unknown user', 'DELETE', () => randomUUID(), 404, 'user_not_found'],
    ['unblocking a malformed id', 'DELETE', () => 'not-a-uuid', 404, 'user_not_found'],
  ])('refuses %s and changes nothing', async (_label, method, target, status, code) => {
    const me = await registerUser(node.url);
    const rows = await blockRows();
    const response = await send(method, `/api/users/me/blocks/${encodeURIComponent(target(me))}`, { token: me.session.token });
    expect(response).toMatchObject({ status, body: { error: { code } } });
    expect(await blockRows()).toBe(rows);
  });

  it('needs a token for every route', async () => {
    const target = randomUUID();
    for (const [method, path] of [['GET', ''], ['PUT', `/${target}`], ['DELETE', `/${target}`]] as const) {
      expect(await send(method, `/api/users/me/blocks${path}`)).toMatchObject({ status: 401, body: { error: { code: 'auth_required' } } });
    }
  });

  it('takes the blocker from the token: another user’s blocks are invisible and untouchable, body ids are ignored', async () => {
    const alice = await registerUser(node.url);
    const bob = await registerUser(node.url);
    const carol = await registerUser(node.url);
    await block(alice, carol.session.id);

    expect(await list(bob)).toEqual({ status: 200, body: { items: [] } });
    // Bob lifting "his" block of Carol leaves Alice's alone.
    expect(await unblock(bob, carol.session.id)).toMatchObject({ status: 204 });
    const asAlice = await send('PUT', `/api/users/me/blocks/${alice.session.id}`, {
      token: bob.session.token,
      body: { blockerId: alice.session.id, userId: alice.session.id },
    });
    expect(asAlice).toMatchObject({ status: 204 });

    expect((await list(alice)).body).toEqual({ items: [expect.objectContaining({ userId: carol.session.id })] });
    expect((await list(bob)).body).toEqual({ items: [expect.objectContaining({ userId: alice.session.id })] });
  });

  it(`refuses the block past ${limits.blocksPerUser.max} with limit_reached; a block already held still answers 204`, async () => {
    const me = await registerUser(node.url);
    const batch = randomBytes(4).toString('hex');
    const users = await node.database.db
      .insertInto('users')
      .values(Array.from({ length: limits.blocksPerUser.max + 1 }, (_, index) => ({ username: `b_${batch}_${index}`, display_name: `B ${index}` })))
      .returning('id')
      .execute();
    const [extra, ...blocked] = users.map((user) => user.id);
    await node.database.db
      .insertInto('user_blocks')
      .values(blocked.map((blockedId) => ({ blocker_id: me.session.id, blocked_id: blockedId })))
      .execute();

    expect(await block(me, extra!)).toMatchObject({ status: 409, body: { error: { code: 'limit_reached' } } });
    expect(await block(me, blocked[0]!)).toMatchObject({ status: 204 });
    expect((await list(me)).body?.items).toHaveLength(limits.blocksPerUser.max);

    await unblock(me, blocked[0]!);
    expect(await block(me, extra!)).toMatchObject({ status: 204 });
  });
});

describe('/api/users/me/blocks under the write limit', () => {
  let limited: TestNode;

  beforeAll(async () => {
    limited = await startTestNode({ RATE_LIMIT_COMMUNITY_WRITE: '2/1m' });
  });
  afterAll(() => limited.stop());

  it('limits PUT and DELETE, not GET', async () => {
    const me = await registerUser(limited.url);
    const other = await registerUser(limited.url);
    const options = { token: me.session.token, url: limited.url };

    expect(await send('PUT', `/api/users/me/blocks/${other.session.id}`, options)).toMatchObject({ status: 204 });
    expect(await send('DELETE', `/api/users/me/blocks/${other.session.id}`, options)).toMatchObject({ status: 204 });
    expect(await send('PUT', `/api/users/me/blocks/${other.session.id}`, options)).toMatchObject({
      status: 429,
      body: { error: { code: 'rate_limited' } },
    });
    expect(await send('GET', '/api/users/me/blocks', options)).toEqual({ status: 200, body: { items: [] } });
  });
});
