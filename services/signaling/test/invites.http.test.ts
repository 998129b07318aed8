import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { registerUser, type TestUser } from './support/users.ts';

let node: TestNode;
let owner: TestUser;
let serverId: string;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m' });
  owner = await registerUser(node.url);
  serverId = (await owner.http.createServer({ name: 'invites' })).id;
});
afterAll(() => node.stop());

async function member(roles: Array<'moderator' | 'admin'> = []): Promise<TestUser> {
  const user = await registerUser(node.url);
  await addMember(node.database, serverId, user.session.id, { roles });
  return user;
}

async function auditActions(): Promise<string[]> {
  const rows = await node.database.db.selectFrom('audit_log').select('action').where('server_id', '=', serverId).orderBy('id').execute();
  return rows.map((row) => row.action);
}

describe('invites', () => {
  it('creates an invite with limits and a note; the code is 11 url-safe characters; audited', async () => {
    const moderator = await member(['moderator']);
    const before = Date.now();
    const invite = await moderator.http.request<Record<string, unknown>>('POST', `/api/servers/${serverId}/invites`, {
      maxUses: 3,
      expiresInMs: 3_600_000,
      note: ' raid team ',
      createdBy: owner.session.id,
    });
    const after = Date.now();
    expect(invite).toMatchObject({ serverId, createdBy: moderator.session.id, maxUses: 3, uses: 0, revoked: false, note: 'raid team' });
    expect(invite.code).toMatch(/^[A-Za-z0-9_-]{11}$/);
    // An hour from when the request was served: between the times taken around it.
    const expiresAt = Date.parse(invite.expiresAt as string);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 3_600_000);
    expect(await auditActions()).toContain('invite.create');
  });

  it('needs create_invites: a plain member is refused, an outsider is not a member', async () => {
    const plain = await member();
    const outsider = await registerUser(node.url);
    const before = await node.database.db.selectFrom('invites').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    await expect(plain.http.request('POST', `/api/servers/${serverId}/invites`, {})).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await expect(outsider.http.request('POST', `/api/servers/${serverId}/invites`, {})).rejects.toMatchObject({ code: 'not_a_member' });
    await expect(plain.http.request('GET', `/api/servers/${serverId}/invites`)).rejects.toMatchObject({ code: 'forbidden' });
    const after = await node.database.db.selectFrom('invites').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(after).toEqual(before);
  });

  it('lists one’s own invites with create_invites and every invite with manage_invites, newest first, page by page', async () => {
    const moderator = await member(['moderator']);
    const admin = await member(['admin']);
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push(await moderator.http.request<{ code: string }>('POST', `/api/servers/${serverId}/invites`, {}));
    await admin.http.request('POST', `/api/servers/${serverId}/invites`, {});

    const own = await moderator.http.request<{ items: Array<{ code: string; createdBy: string }> }>('GET', `/api/servers/${serverId}/invites`);
    expect(own.items.map((invite) => invite.code)).toEqual(mine.map((invite) => invite.code).reverse());

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page: { items: Array<{ code: string }>; nextCursor: string | null } = await admin.http.request('GET', `/api/servers/${serverId}/invites${query}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((invite) => invite.code));
      cursor = page.nextCursor;
    } while (cursor);
    const all = await node.database.db.selectFrom('invites').select('code').where('server_id', '=', serverId).execute();
    expect(seen.sort()).toEqual(all.map((row) => row.code).sort());
  });

  it('revokes one’s own invite, or any with manage_invites; not another’s without it', async () => {
    const moderator = await member(['moderator']);
    const otherModerator = await member(['moderator']);
    const invite = await moderator.http.request<{ code: string }>('POST', `/api/servers/${serverId}/invites`, {});
    await expect(otherModerator.http.request('DELETE', `/api/servers/${serverId}/invites/${invite.code}`)).rejects.toMatchObject({ code: 'forbidden' });
    await moderator.http.request('DELETE', `/api/servers/${serverId}/invites/${invite.code}`);
    const second = await moderator.http.request<{ code: string }>('POST', `/api/servers/${serverId}/invites`, {});
    await owner.http.request('DELETE', `/api/servers/${serverId}/invites/${second.code}`);
    const rows = await node.database.db.selectFrom('invites').select(['code', 'revoked_at']).where('code', 'in', [invite.code, second.code]).execute();
    expect(rows.every((row) => row.revoked_at instanceof Date)).toBe(true);
    await expect(owner.http.request('DELETE', `/api/servers/${serverId}/invites/nosuchcode`)).rejects.toMatchObject({ code: 'invite_not_found' });
  });

  it('answers bad input with a clear error and writes nothing', async () => {
    const other = await owner.http.createServer({ name: 'elsewhere' });
    const foreign = await owner.http.request<{ code: string }>('POST', `/api/servers/${other.id}/invites`, {});
    const before = await rowCounts(node.database);
    const invitesBefore = await node.database.db.selectFrom('invites').selectAll().orderBy('code').execute();
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', `/api/servers/${serverId}/invites`, { maxUses: 0 }, 'invalid_payload'],
      ['POST', `/api/servers/${serverId}/invites`, { maxUses: 1.5 }, 'invalid_payload'],
      ['POST', `/api/servers/${serverId}/invites`, { maxUses: '3' }, 'invalid_payload'],
      ['POST', `/api/servers/${serverId}/invites`, { expiresInMs: 1000 }, 'invalid_payload'],
      ['POST', `/api/servers/${serverId}/invites`, { note: 'n'.repeat(201) }, 'invalid_payload'],
      ['POST', `/api/servers/not-a-uuid/invites`, {}, 'server_not_found'],
      ['POST', `/api/servers/${crypto.randomUUID()}/invites`, {}, 'server_not_found'],
      ['DELETE', `/api/servers/${serverId}/invites/${foreign.code}`, undefined, 'invite_not_found'],
      ['DELETE', `/api/servers/${serverId}/invites/${'x'.repeat(65)}`, undefined, 'invite_not_found'],
      ['GET', `/api/servers/${serverId}/invites?cursor=garbage`, undefined, 'invalid_payload'],
      ['GET', `/api/servers/${serverId}/invites?limit=-1`, undefined, 'invalid_payload'],
    ];
    for (const [method, path, body, code] of cases) {
      await expect(owner.http.request(method, path, body), `${method} ${path}`).rejects.toMatchObject({ code });
    }
    expect(await rowCounts(node.database)).toEqual(before);
    expect(await node.database.db.selectFrom('invites').selectAll().orderBy('code').execute()).toEqual(invitesBefore);
  });
});
