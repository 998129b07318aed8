import { randomBytes } from 'node:crypto';
import type { ServerPreview } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { registerUser, type TestUser } from './support/users.ts';
import type { Clock } from '../src/clock.ts';
import { DiscoveryService, TRENDING_CACHE_MS } from '../src/domain/discovery/discovery.service.ts';
import { Store } from '../src/domain/store.ts';
import { PARLEY_VERSION } from '../src/version.ts';

const HOUR = 3_600_000;

let node: TestNode;
let owner: TestUser;

beforeAll(async () => {
  node = await startTestNode();
  owner = await registerUser(node.url);
});
afterAll(() => node.stop());

interface Body {
  items?: ServerPreview[];
  nextCursor?: string | null;
  error?: { code: string };
}

/** A GET without a token: discovery is public. */
async function get(path: string): Promise<{ status: number; body: Body & Partial<ServerPreview> }> {
  const response = await fetch(`${node.url}/api/servers${path}`);
  return { status: response.status, body: (await response.json()) as Body & Partial<ServerPreview> };
}

async function ids(path: string): Promise<string[]> {
  const { status, body } = await get(path);
  expect(status).toBe(200);
  return body.items!.map((item) => item.id);
}

/** Follows `nextCursor` to the end; every id in order. */
async function walk(path: string): Promise<{ ids: string[]; pages: number }> {
  const found: string[] = [];
  let cursor: string | null | undefined;
  let pages = 0;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const { status, body } = await get(cursor ? `${path}${separator}cursor=${encodeURIComponent(cursor)}` : path);
    expect(status).toBe(200);
    found.push(...body.items!.map((item) => item.id));
    cursor = body.nextCursor;
    pages++;
  } while (cursor);
  return { ids: found, pages };
}

const token = () => `t${randomBytes(4).toString('hex')}`;

/**
 * A community created through the API, then made discoverable (or not) and
 * given a member count by hand: the settings endpoint is not this file's subject.
 */
async function community(
  name: string,
  options: { description?: string; discoverable?: boolean; members?: number } = {},
): Promise<string> {
  const server = await owner.http.createServer({ name, description: options.description });
  await node.database.db
    .updateTable('servers')
    .set({ discoverable: options.discoverable ?? true, ...(options.members ? { member_count: options.members } : {}) })
    .where('id', '=', server.id)
    .execute();
  return server.id;
}

/** A discoverable community inserted directly: no join or message of the node's own ever counts for it. */
async function quietCommunity(name: string, options: { discoverable?: boolean; members?: number } = {}): Promise<string> {
  const row = await node.database.db
    .insertInto('servers')
    .values({ name, description: null, owner_id: null, discoverable: options.discoverable ?? true, member_count: options.members ?? 1 })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** `joins` and `messages` in the bucket `hoursAgo` hours before the current hour. */
async function activity(serverId: string, hoursAgo: number, counts: { joins?: number; messages?: number }): Promise<void> {
  const hour = new Date(Math.floor(Date.now() / HOUR) * HOUR - hoursAgo * HOUR);
  await node.database.db
    .insertInto('server_activity')
    .values({ server_id: serverId, hour, joins: counts.joins ?? 0, messages: counts.messages ?? 0 })
    .execute();
}

function badRequest(path: string) {
  return expect(get(path)).resolves.toMatchObject({ status: 400, body: { error: { code: 'invalid_payload' } } });
}

describe('GET /api/servers', () => {
  beforeAll(async () => {
    // 120 communities created in one statement share one created_at: only the id orders them.
    await node.database.db
      .insertInto('servers')
      .values(Array.from({ length: 120 }, (_, i) => ({ name: `bulk ${i}`, description: null, owner_id: null, discoverable: true })))
      .execute();
  });

  it('lists discoverable communities newest first, and pages through every one exactly once', async () => {
    const hidden = await community('hidden one', { discoverable: false });
    const newest = await community('newest one', { description: 'the latest' });

    const first = await get('/?limit=1');
    expect(first).toMatchObject({ status: 200, body: { nextCursor: expect.any(String) } });
    expect(first.body.items).toEqual([
      {
        id: newest,
        name: 'newest one',
        description: 'the latest',
        iconUrl: null,
        joinPolicy: 'invite',
        members: 1,
        version: PARLEY_VERSION,
        createdAt: expect.any(String),
      },
    ]);

    const expected = await node.database.db
      .selectFrom('servers')
      .select('id')
      .where('discoverable', '=', true)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    const walked = await walk('/?limit=7');
    expect(walked.ids).toEqual(expected.map((row) => row.id));
    expect(new Set(walked.ids).size).toBe(walked.ids.length);
    expect(walked.pages).toBe(Math.ceil(expected.length / 7));
    expect(walked.ids).not.toContain(hidden);
  });

  it('gives 50 by default and at most 100', async () => {
    expect(await ids('/')).toHaveLength(50);
    const clamped = await get('/?limit=1000');
    expect(clamped.body.items).toHaveLength(100);
    expect(clamped.body.nextCursor).toEqual(expect.any(String));
  });

  it.each([
    ['a zero limit', '/?limit=0'],
    ['a negative limit', '/?limit=-5'],
    ['a limit that is not a number', '/?limit=many'],
    ['a cursor it did not issue', '/?cursor=bm90LWEtY3Vyc29y'],
    ['a cursor that is not base64 JSON', '/?cursor=%25%25%25'],
    ['a forged cursor', `/?cursor=${Buffer.from(JSON.stringify({ createdAt: 'yesterday', id: 'x' })).toString('base64url')}`],
    ['an oversized cursor', `/?cursor=${'a'.repeat(201)}`],
  ])('refuses %s', async (_label, path) => {
    await badRequest(path);
  });
});

describe('GET /api/servers/search', () => {
  it('ranks names starting with q, then names containing it, then descriptions; then by members', async () => {
    const q = token();
    const descriptionOnly = await community('Some place', { description: `all about ${q} here`, members: 90 });
    const nameContains = await community(`The ${q} club`, { members: 50 });
    const startsSmall = await community(`${q} fans`, { members: 2 });
    const startsBig = await community(`${q.toUpperCase()} world`, { members: 9 });
    await community(`${q} secret`, { discoverable: false, members: 99 });

    expect(await ids(`/search?q=${q.toUpperCase()}`)).toEqual([startsBig, startsSmall, nameContains, descriptionOnly]);

    const firstPage = await get(`/search?q=${q}&limit=3`);
    expect(firstPage.body.items!.map((item) => item.id)).toEqual([startsBig, startsSmall, nameContains]);
    const secondPage = await get(`/search?q=${q}&limit=3&cursor=${firstPage.body.nextCursor}`);
    expect(secondPage.body).toEqual({ items: [expect.objectContaining({ id: descriptionOnly })], nextCursor: null });
  });

  it('takes %, _ and \\ literally', async () => {
    const q = token();
    const percent = await community(`${q} 100% sure`);
    await community(`${q} 1000 sure`);
    const underscore = await community(`${q} a_b`);
    await community(`${q} axb`);
    const backslash = await community(`${q} back\\slash`);
    await community(`${q} backslash`);

    expect(await ids(`/search?q=${encodeURIComponent('100%')}`)).toEqual([percent]);
    expect(await ids(`/search?q=${encodeURIComponent('%')}`)).toEqual([percent]);
    expect(await ids(`/search?q=${encodeURIComponent('a_b')}`)).toEqual([underscore]);
    expect(await ids(`/search?q=_`)).toEqual([underscore]);
    expect(await ids(`/search?q=${encodeURIComponent('k\\s')}`)).toEqual([backslash]);
    expect(await ids(`/search?q=${'x'.repeat(100)}`)).toEqual([]);
  });

  it('walks every match once', async () => {
    const q = token();
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await community(`${q} ${i}`, { members: i + 1 }));
    const walked = await walk(`/search?q=${q}&limit=2`);
    expect(walked.ids).toEqual([...created].reverse());
    expect(walked.pages).toBe(4);
  });

  it.each([
    ['no q', '/search'],
    ['an empty q', '/search?q='],
    ['a q of spaces', '/search?q=%20%20%20'],
    ['a q over 100 characters', `/search?q=${'x'.repeat(101)}`],
    ['two qs', '/search?q=a&q=b'],
    ['a zero limit', '/search?q=a&limit=0'],
    ['a cursor it did not issue', '/search?q=a&cursor=bm90LWEtY3Vyc29y'],
    ['an offset past the first 1000 matches', `/search?q=a&cursor=${Buffer.from('{"offset":1000}').toString('base64url')}`],
  ])('refuses %s', async (_label, path) => {
    await badRequest(path);
  });
});

describe('GET /api/servers/featured', () => {
  it('lists featured discoverable communities, most recently featured first', async () => {
    // Later than any real clock: whatever else is featured ranks below these.
    let now = Date.parse('2100-01-01T12:00:00Z');
    const clock: Clock = { now: () => new Date(now) };
    const operator = new DiscoveryService({ store: new Store(node.database.db), clock });
    const [first, second, third] = [await community('first'), await community('second'), await community('third')];
    const hidden = await community('featured but hidden', { discoverable: false });

    for (const serverId of [first, second, third, hidden]) {
      now += 60_000;
      await operator.setFeatured(serverId, true);
    }
    expect(await ids('/featured?limit=3')).toEqual([third, second, first]);

    now += 60_000;
    await operator.setFeatured(first, true);
    await operator.setFeatured(third, false);
    expect(await ids('/featured?limit=2')).toEqual([first, second]);
    expect(await ids('/featured?limit=1')).toEqual([first]);
    const all = await ids('/featured?limit=500');
    expect(all).not.toContain(third);
    expect(all).not.toContain(hidden);
  });

  it('audits featuring without an actor, and refuses unknown communities without writing', async () => {
    const operator = new DiscoveryService({ store: new Store(node.database.db), clock: { now: () => new Date() } });
    const serverId = await community('audited');
    const audit = () =>
      node.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'server.feature').orderBy('id').execute();
    const before = (await audit()).length;

    await expect(operator.setFeatured(serverId, true)).resolves.toMatchObject({ id: serverId, name: 'audited' });
    await expect(operator.setFeatured(crypto.randomUUID(), true)).rejects.toMatchObject({ code: 'server_not_found' });
    await expect(operator.setFeatured('not-a-uuid', true)).rejects.toMatchObject({ code: 'server_not_found' });

    const entries = await audit();
    expect(entries).toHaveLength(before + 1);
    expect(entries.at(-1)).toMatchObject({ server_id: serverId, actor_id: null, details: { featured: true } });
  });

  it('refuses a bad limit', async () => {
    await badRequest('/featured?limit=0');
  });
});

describe('GET /api/servers/trending', () => {
  it('ranks by recent, decaying activity and leaves out the quiet ones', async () => {
    // score = Σ (10 × joins + messages) × 2^(−age_hours / 24) over the last 7 days' buckets.
    const lastHour = await quietCommunity('40 messages this hour'); // ≈ 40 × 2^(−0.5/24) ≈ 39.4
    const threeDaysAgo = await quietCommunity('100 messages 3 days ago'); // ≈ 100 × 2^(−72.5/24) ≈ 12.3
    const yesterday = await quietCommunity('2 joins yesterday'); // ≈ 20 × 2^(−24.5/24) ≈ 9.9
    const tieBig = await quietCommunity('tie, more members', { members: 5 }); // ≈ 5 × 2^(−2.5/24) ≈ 4.7
    const tieSmall = await quietCommunity('tie, fewer members', { members: 2 });
    const tieA = await quietCommunity('tie, same members');
    const tieB = await quietCommunity('tie, same members');
    const stale = await quietCommunity('active 8 days ago');
    const idle = await quietCommunity('never active');
    const hidden = await quietCommunity('busy but hidden', { discoverable: false });

    await activity(lastHour, 0, { messages: 40 });
    await activity(threeDaysAgo, 72, { messages: 100 });
    await activity(yesterday, 24, { joins: 2 });
    for (const serverId of [tieBig, tieSmall, tieA, tieB]) await activity(serverId, 2, { messages: 5 });
    await activity(stale, 8 * 24, { joins: 1000 });
    await activity(hidden, 0, { joins: 1000 });
    const [sameLow, sameHigh] = [tieA, tieB].sort();
    const mine = new Set([lastHour, threeDaysAgo, yesterday, tieBig, tieSmall, tieA, tieB, stale, idle, hidden]);
    const ranked = async (limit: number) => (await ids(`/trending?limit=${limit}`)).filter((id) => mine.has(id));

    const expected = [lastHour, threeDaysAgo, yesterday, tieBig, tieSmall, sameLow, sameHigh];
    expect(await ranked(60)).toEqual(expected);

    // A pod reuses a ranking for 30 s per limit; another limit is ranked afresh.
    await activity(yesterday, 0, { messages: 1000 });
    expect(await ranked(60)).toEqual(expected);
    expect(await ranked(59)).toEqual([yesterday, lastHour, threeDaysAgo, tieBig, tieSmall, sameLow, sameHigh]);
  });

  it(`ranks again once the ranking is ${TRENDING_CACHE_MS / 1000} s old`, async () => {
    let now = Date.now();
    const service = new DiscoveryService({ store: new Store(node.database.db), clock: { now: () => new Date(now) } });
    const [leader, challenger] = [await quietCommunity('leader'), await quietCommunity('challenger')];
    await activity(leader, 0, { messages: 10 });
    await activity(challenger, 0, { messages: 5 });
    const ranked = async () => (await service.trending({ limit: 100 })).map((item) => item.id).filter((id) => id === leader || id === challenger);

    expect(await ranked()).toEqual([leader, challenger]);
    await activity(challenger, 1, { joins: 10 });
    now += TRENDING_CACHE_MS - 1;
    expect(await ranked()).toEqual([leader, challenger]);
    now += 1;
    expect(await ranked()).toEqual([challenger, leader]);
  });

  it('refuses a bad limit', async () => {
    await badRequest('/trending?limit=zero');
  });
});

describe('GET /api/servers/:serverId', () => {
  it('previews any community, discoverable or not, without a token', async () => {
    const serverId = await community('private place', { description: 'invite only', discoverable: false });
    expect(await get(`/${serverId}`)).toEqual({
      status: 200,
      body: {
        id: serverId,
        name: 'private place',
        description: 'invite only',
        iconUrl: null,
        joinPolicy: 'invite',
        members: 1,
        version: PARLEY_VERSION,
        createdAt: expect.any(String),
      },
    });
    expect((await get(`/${serverId.toUpperCase()}`)).body.id).toBe(serverId);
  });

  it.each([
    ['an unknown id', () => crypto.randomUUID()],
    ['a malformed id', () => 'not-a-uuid'],
  ])('answers 404 server_not_found for %s', async (_label, id) => {
    expect(await get(`/${id()}`)).toMatchObject({ status: 404, body: { error: { code: 'server_not_found' } } });
  });
});

describe('a community that is not discoverable', () => {
  it('is never listed, searched, featured or trending, while a discoverable twin is', async () => {
    const q = token();
    const operator = new DiscoveryService({ store: new Store(node.database.db), clock: { now: () => new Date() } });
    const [hidden, shown] = [await community(`${q} hidden`, { discoverable: false }), await community(`${q} shown`)];
    for (const serverId of [hidden, shown]) {
      await operator.setFeatured(serverId, true);
      await activity(serverId, 0, { joins: 1000 });
    }

    const listed = (await walk('/?limit=100')).ids;
    const searched = await ids(`/search?q=${q}`);
    const featured = await ids('/featured?limit=100');
    // A limit no other test asks for: ranked now, not taken from the cache.
    const trending = await ids('/trending?limit=97');
    for (const found of [listed, searched, featured, trending]) {
      expect(found).toContain(shown);
      expect(found).not.toContain(hidden);
    }
    expect(await get(`/${hidden}`)).toMatchObject({ status: 200, body: { id: hidden } });
  });
});
