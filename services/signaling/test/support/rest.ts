import { expect } from 'vitest';
import { rowCounts, type TestNode } from './test-node.ts';
import type { TestUser } from './users.ts';

/** An HTTP answer: its status and its parsed JSON body (undefined when empty). */
export interface Reply<T = unknown> {
  status: number;
  body: T & { error?: { code: string; message: string } };
}

/** The shape of a refusal, for `toMatchObject`. */
export function failure(status: number, code: string) {
  return { status, body: { error: { code } } };
}

/**
 * The community REST helpers, bound to the test node a test file starts in
 * `beforeAll` (hence a getter): a caller of `/api/servers…`, the tables a
 * community route could write, the refusal that must write none of them, and
 * the audit log.
 */
export function serversApi(node: () => TestNode) {
  /** Calls `/api/servers<path>` as `user` (anonymously without one). A string body is sent as it is, anything else as JSON. */
  async function api<T = unknown>(user: TestUser | undefined, method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const response = await fetch(`${node().url}/api/servers${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(user ? { Authorization: `Bearer ${user.session.token}` } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Everything a community route could write, for "nothing changed" assertions. */
  async function snapshot() {
    const { database } = node();
    const db = database.db;
    const [counts, servers, channels, roles, overrides, members, memberRoles, bans, audit, deleted] = await Promise.all([
      rowCounts(database),
      db.selectFrom('servers').selectAll().orderBy('id').execute(),
      db.selectFrom('channels').selectAll().orderBy('id').execute(),
      db.selectFrom('roles').selectAll().orderBy('id').execute(),
      db.selectFrom('channel_overrides').selectAll().orderBy('channel_id').orderBy('role_id').execute(),
      db.selectFrom('members').selectAll().orderBy('server_id').orderBy('user_id').execute(),
      db.selectFrom('member_roles').selectAll().orderBy('server_id').orderBy('user_id').orderBy('role_id').execute(),
      db.selectFrom('bans').selectAll().orderBy('server_id').orderBy('user_id').execute(),
      db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
      db.selectFrom('messages').select('id').where('deleted_at', 'is not', null).orderBy('id').execute(),
    ]);
    return { counts, servers, channels, roles, overrides, members, memberRoles, bans, audit: Number(audit.count), deleted };
  }

  /** Asserts that a refused request answers `status`/`code` and writes nothing. */
  async function expectRefused(request: () => Promise<Reply>, status: number, code: string): Promise<void> {
    const before = await snapshot();
    const reply = await request();
    expect(reply, JSON.stringify(reply.body)).toMatchObject(failure(status, code));
    expect(await snapshot()).toEqual(before);
  }

  /** A community's audit entries, oldest first: those of `action`, or without one every entry after its creation. */
  function auditOf(serverId: string, action?: string) {
    const entries = node().database.db.selectFrom('audit_log').selectAll().where('server_id', '=', serverId);
    return (action === undefined ? entries.where('action', '!=', 'server.create') : entries.where('action', '=', action))
      .orderBy('id')
      .execute();
  }

  return { api, snapshot, expectRefused, auditOf };
}
