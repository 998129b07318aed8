import type { JoinRequestRow, ServerRow } from '@parley/db';
import { AppError } from '../../../errors.ts';
import type { Store } from '../../store.ts';

/** How long after a rejection a user may ask again. */
export const REAPPLY_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Files a join request to a `request` community, unless one is pending
 * (then it is returned) or the last one was rejected less than a day ago
 * (`join_request_rejected` with `canReapply: false` and when to retry).
 */
export async function requestToJoin(
  store: Store,
  request: { server: Pick<ServerRow, 'id'>; userId: string; message: string | null; now: Date },
): Promise<JoinRequestRow> {
  const { server, userId, message, now } = request;
  const latest = await store.repos.joinRequests.getLatest(server.id, userId);
  if (latest?.status === 'pending') return latest;
  if (latest?.status === 'rejected' && latest.decided_at) {
    const retryAfterMs = latest.decided_at.getTime() + REAPPLY_AFTER_MS - now.getTime();
    if (retryAfterMs > 0) throw new AppError('join_request_rejected', undefined, { canReapply: false, retryAfterMs });
  }
  const created = await store.repos.joinRequests.createPending({ serverId: server.id, userId, message, createdAt: now });
  // Undefined: a concurrent request on another pod created the pending one first.
  return created ?? (await store.repos.joinRequests.getLatest(server.id, userId))!;
}
