import type { JoinRequestRow } from '@parley/db';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../errors.ts';
import type { Store } from '../../store.ts';
import { REAPPLY_AFTER_MS, requestToJoin } from './join-request.rules.ts';

const SERVER_ID = 'server-1';
const USER_ID = 'user-1';
const now = new Date('2030-01-02T12:00:00Z');
const HOUR = 3_600_000;
const ago = (ms: number) => new Date(now.getTime() - ms);

/**
 * The join requests of one community in memory, with the repository's
 * contract: the latest by creation time, and at most one pending per user
 * (`createPending` answers undefined when one is). `concurrentPending` plays
 * another pod whose pending request lands just before this one's insert.
 */
class JoinRequestsInMemory {
  readonly rows: JoinRequestRow[] = [];
  concurrentPending = false;

  async getLatest(serverId: string, userId: string): Promise<JoinRequestRow | undefined> {
    return this.rows
      .filter((row) => row.server_id === serverId && row.user_id === userId)
      .sort((a, b) => b.created_at.getTime() - a.created_at.getTime())[0];
  }

  async createPending(values: { serverId: string; userId: string; message: string | null; createdAt: Date }): Promise<JoinRequestRow | undefined> {
    if (this.concurrentPending) this.add({ status: 'pending', created_at: values.createdAt, message: 'from another pod' });
    if (this.rows.some((row) => row.server_id === values.serverId && row.user_id === values.userId && row.status === 'pending')) return undefined;
    return this.add({ status: 'pending', created_at: values.createdAt, message: values.message });
  }

  add(fields: Partial<JoinRequestRow>): JoinRequestRow {
    const row: JoinRequestRow = {
      id: `request-${this.rows.length + 1}`,
      server_id: SERVER_ID,
      user_id: USER_ID,
      message: null,
      status: 'pending',
      decided_by: null,
      decided_at: null,
      created_at: ago(10 * 24 * HOUR),
      ...fields,
    };
    this.rows.push(row);
    return row;
  }

  asStore(): Store {
    return { repos: { joinRequests: this } } as unknown as Store;
  }
}

function ask(requests: JoinRequestsInMemory, message: string | null = 'let me in') {
  return requestToJoin(requests.asStore(), { server: { id: SERVER_ID }, userId: USER_ID, message, now });
}

/** What asking did: filed a new request, returned the pending one, or the refusal. */
async function outcomeOf(previous: Partial<JoinRequestRow> | undefined): Promise<string> {
  const requests = new JoinRequestsInMemory();
  const earlier = previous ? requests.add(previous) : undefined;
  try {
    const request = await ask(requests);
    if (request.id === earlier?.id) return 'the pending one';
    expect(request).toMatchObject({ status: 'pending', message: 'let me in', created_at: now });
    return 'filed';
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return `${error.code}, canReapply ${error.canReapply}, retry after ${error.retryAfterMs} ms`;
  }
}

describe('requestToJoin', () => {
  const rejected = (decidedAgoMs: number): Partial<JoinRequestRow> => ({ status: 'rejected', decided_by: 'mod', decided_at: ago(decidedAgoMs) });

  it.each<[string, string, Partial<JoinRequestRow> | undefined]>([
    ['a first request', 'filed', undefined],
    ['a request while one is pending', 'the pending one', { status: 'pending' }],
    ['a request an hour after a rejection', `join_request_rejected, canReapply false, retry after ${23 * HOUR} ms`, rejected(HOUR)],
    ['a request just short of a day after a rejection', 'join_request_rejected, canReapply false, retry after 1 ms', rejected(REAPPLY_AFTER_MS - 1)],
    ['a request a day after a rejection', 'filed', rejected(REAPPLY_AFTER_MS)],
    ['a request two days after a rejection', 'filed', rejected(2 * REAPPLY_AFTER_MS)],
    ['a request after an approval (the user left since)', 'filed', { status: 'approved', decided_by: 'mod', decided_at: ago(HOUR) }],
    ['a request after a rejection with no decision time', 'filed', { status: 'rejected', decided_at: null }],
  ])('%s: %s', async (_label, expected, previous) => {
    expect(await outcomeOf(previous)).toBe(expected);
  });

  it('counts from the latest request only: an old rejection under a later approval does not block', async () => {
    const requests = new JoinRequestsInMemory();
    requests.add({ status: 'rejected', decided_at: ago(HOUR), created_at: ago(3 * HOUR) });
    requests.add({ status: 'approved', decided_at: ago(HOUR / 2), created_at: ago(2 * HOUR) });
    await expect(ask(requests)).resolves.toMatchObject({ status: 'pending', created_at: now });
  });

  it('returns the pending request another pod filed first, and files no second one', async () => {
    const requests = new JoinRequestsInMemory();
    requests.concurrentPending = true;
    const request = await ask(requests);
    expect(request).toMatchObject({ status: 'pending', message: 'from another pod' });
    expect(requests.rows.filter((row) => row.status === 'pending')).toEqual([request]);
  });

  it('keeps the message, or none', async () => {
    await expect(ask(new JoinRequestsInMemory(), null)).resolves.toMatchObject({ message: null });
  });
});
