import type { ConnectionStatus, PresenceStatus } from '@parley/protocol';
import type { Logger } from '../../logger.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';
import type { Store } from '../store.ts';
import type { NodeScopedState } from '../../cluster/node-liveness.ts';
import type { PresenceChange, PresenceStore } from './presence.store.ts';

/** Users whose communities are read in one query when many change at once. */
const ANNOUNCE_BATCH = 1000;
/** Users whose last announcement a pod remembers (a few dozen bytes each). */
const MAX_REMEMBERED_ANNOUNCEMENTS = 100_000;

/** One connection this pod holds, with the status it declared. */
interface LocalConnection {
  userId: string;
  status: ConnectionStatus;
}

/**
 * Presence per person, aggregated over every device on every pod. Each
 * change of a user's status is announced once, to the rooms of their
 * communities that announce members (at most 1000) and to their own devices:
 * `offline` → anything is the seeds' `user_joined`, → `offline` their `user_left`.
 */
export class PresenceService implements NodeScopedState {
  readonly #store: Store;
  readonly #presence: PresenceStore;
  readonly #realtime: Realtime;
  readonly #log: Logger;
  /** This pod's connections, so they can be recorded again if the shared state lost them. */
  readonly #local = new Map<string, LocalConnection>();
  /** Closed connections whose removal failed (Redis away), retried on every heartbeat: no ghosts. */
  readonly #pendingRemovals = new Map<string, string>();
  /**
   * Per user, the stamp of the newest change announced. Changes are stamped in
   * the order this pod learned them; one whose announcement is overtaken by a
   * newer one (their community lookups finished the other way round) is not
   * sent, so a device never ends on a stale status. The least recently
   * announced users are forgotten beyond `MAX_REMEMBERED_ANNOUNCEMENTS`.
   */
  readonly #announced = new Map<string, number>();
  #stamp = 0;

  constructor(deps: { store: Store; presence: PresenceStore; realtime: Realtime; logger: Logger }) {
    this.#store = deps.store;
    this.#presence = deps.presence;
    this.#realtime = deps.realtime;
    this.#log = deps.logger.child({ module: 'presence' });
  }

  /** A connection opened: it counts as `online` until it says otherwise. */
  async connected(userId: string, connectionId: string): Promise<void> {
    this.#local.set(connectionId, { userId, status: 'online' });
    await this.announce([await this.#presence.set(userId, connectionId, 'online')]);
  }

  /** A connection declared its status; returns the user's aggregated status. */
  async update(userId: string, connectionId: string, status: ConnectionStatus): Promise<PresenceStatus> {
    this.#local.set(connectionId, { userId, status });
    const change = await this.#presence.set(userId, connectionId, status);
    await this.announce([change]);
    if (change) return change.status;
    return (await this.#presence.statuses([userId])).get(userId) ?? status;
  }

  async disconnected(userId: string, connectionId: string): Promise<void> {
    this.#local.delete(connectionId);
    try {
      await this.announce([await this.#presence.remove(userId, connectionId)]);
    } catch (error) {
      this.#pendingRemovals.set(connectionId, userId);
      throw error;
    }
  }

  /** Retries the removals that failed; those failing again stay queued. */
  async retryPending(): Promise<void> {
    for (const [connectionId, userId] of this.#pendingRemovals) {
      await this.announce([await this.#presence.remove(userId, connectionId)]);
      this.#pendingRemovals.delete(connectionId);
    }
  }

  statuses(userIds: readonly string[]): Promise<Map<string, PresenceStatus>> {
    return this.#presence.statuses(userIds);
  }

  /** Removes what a dead (or departing) node recorded, and announces the users it takes offline. */
  async removeNode(nodeId: string): Promise<number> {
    const changes = await this.#presence.removeNode(nodeId);
    await this.announce(changes);
    return changes.length;
  }

  /** This node was presumed dead and its entries removed: records its connections again, under its new incarnation. */
  async recover(): Promise<void> {
    const local = [...this.#local];
    for (let start = 0; start < local.length; start += ANNOUNCE_BATCH) {
      // Sent together, so they share round trips on the one connection.
      const batch = local.slice(start, start + ANNOUNCE_BATCH);
      await this.announce(await Promise.all(batch.map(([connectionId, { userId, status }]) => this.#presence.set(userId, connectionId, status))));
    }
  }

  /**
   * Tells each change to the user's devices and to the communities that
   * announce their members; the communities of many users (a dead pod's)
   * are read in a few queries.
   */
  async announce(changes: ReadonlyArray<PresenceChange | null>): Promise<void> {
    const real = changes
      .filter((change): change is PresenceChange => change !== null)
      .map((change) => ({ ...change, stamp: ++this.#stamp }));
    for (let start = 0; start < real.length; start += ANNOUNCE_BATCH) {
      const batch = real.slice(start, start + ANNOUNCE_BATCH);
      try {
        const serverIds = await this.#store.repos.members.listAnnouncingServerIds(batch.map((change) => change.userId));
        for (const { userId, status, stamp } of batch) {
          if ((this.#announced.get(userId) ?? 0) > stamp) continue;
          this.#announced.delete(userId);
          this.#announced.set(userId, stamp);
          if (this.#announced.size > MAX_REMEMBERED_ANNOUNCEMENTS) this.#announced.delete(this.#announced.keys().next().value!);
          const audience = (serverIds.get(userId) ?? []).map(rooms.server);
          this.#realtime.emit([rooms.user(userId), ...audience], 'presence:updated', { userId, status });
        }
      } catch (error) {
        this.#log.warn({ err: error, users: batch.length }, 'presence changes not announced');
      }
    }
  }
}
