import type { AuditEntry, Page } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communityFixtures, idOf } from './support/community-fixtures.ts';
import { serversApi } from './support/rest.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import type { TestUser } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', RATE_LIMIT_CHAT_SEND: '1000/10s', RATE_LIMIT_CHAT_FETCH: '1000/10s' });
});
afterAll(() => node.stop());

const { api } = serversApi(() => node);
const { staffedCommunity } = communityFixtures(() => node);

describe('audit log', () => {
  it('lists the actions newest first with actor and target, in pages, to view_audit_log holders', async () => {
    const c = await staffedCommunity();
    const member = (user: TestUser) => `/${c.serverId}/members/${idOf(user)}`;
    await api(c.mod, 'PUT', member(c.member), { nickname: 'Nick' });
    await api(c.mod, 'PUT', member(c.member), { muted: true, muteDurationMs: 5000 });
    await api(c.mod, 'DELETE', member(c.member2));
    await api(c.admin, 'POST', `/${c.serverId}/bans`, { userId: idOf(c.mod2), reason: 'rude' });
    await api(c.admin, 'DELETE', `/${c.serverId}/bans/${idOf(c.mod2)}`);

    const entries: AuditEntry[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page: { body: Page<AuditEntry> } = await api<Page<AuditEntry>>(c.mod, 'GET', `/${c.serverId}/audit-log${query}`);
      entries.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(entries.map((entry) => [entry.action, entry.actorId, entry.targetUserId])).toEqual([
      ['member.unban', idOf(c.admin), idOf(c.mod2)],
      ['member.ban', idOf(c.admin), idOf(c.mod2)],
      ['member.kick', idOf(c.mod), idOf(c.member2)],
      ['member.mute', idOf(c.mod), idOf(c.member)],
      ['member.update', idOf(c.mod), idOf(c.member)],
      ['server.create', idOf(c.owner), null],
    ]);
    expect(entries[4]!.details).toEqual({ fields: ['nickname'], nickname: 'Nick' });
    expect(entries[1]!.details).toMatchObject({ reason: 'rude', expiresAt: null, purged: 0 });
    expect(entries.every((entry) => entry.serverId === c.serverId)).toBe(true);
  });
});
