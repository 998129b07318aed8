import type { ChannelRow } from '@parley/db';
import type { Permission } from '@parley/protocol';

/** What decides one member's actions in one channel: read from the database, or from `AccessCache`. */
export interface ChannelStanding {
  channel: Pick<ChannelRow, 'id' | 'server_id' | 'type'>;
  isMember: boolean;
  /** Effective permissions in this channel: roles, then overrides (all of them for the owner). */
  permissions: ReadonlySet<Permission>;
  /** A server mute; `muted_until` null is indefinite. Compared with the clock at each check, never cached as a verdict. */
  muted: boolean;
  muted_until: Date | null;
}

export interface AccessCacheOptions {
  /** How long a standing may be reused at most; 0 turns the cache off. */
  ttlMs: number;
  /** Least recently used standings are dropped beyond this many. */
  maxEntries: number;
  /**
   * Whether this pod would hear of a change now (cluster: its Redis
   * subscription is up). While false, every check reads the database.
   */
  trusted?: () => boolean;
  now?: () => number;
}

interface Entry {
  standing: ChannelStanding;
  /** The epoch when the read began: a change after it makes the entry stale. */
  readAt: number;
  expiresAt: number;
}

/** Communities remembered as changed before the bookkeeping is reset (by forgetting everything). */
const MAX_CHANGED_SERVERS = 10_000;

/**
 * A pod's memory of recent channel standings, so a busy sender's checks do
 * not each cost a database round trip. Every change to who may do what in a
 * community (roles, overrides, membership, mutes, ownership, channels) calls
 * `forgetServer` on every pod; `ttlMs` bounds what a lost signal can cost.
 *
 * Staleness is decided by an epoch that every change advances: an entry
 * whose read began before its community's last change is not used, so a read
 * racing with a change can never outlive it. Only members' standings are
 * kept (a join grants access and signals nothing).
 */
export class AccessCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #trusted: () => boolean;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  /** Epoch of each community's last change. */
  readonly #changedAt = new Map<string, number>();
  #allChangedAt = 0;
  #epoch = 0;

  constructor(options: AccessCacheOptions) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#trusted = options.trusted ?? (() => true);
    this.#now = options.now ?? Date.now;
  }

  /** The standing of `userId` in `channelId`: cached, or read by `load` (and kept when it is a member's). */
  async get(userId: string, channelId: string, load: () => Promise<ChannelStanding | undefined>): Promise<ChannelStanding | undefined> {
    const usable = this.#ttlMs > 0 && this.#trusted();
    const key = `${userId}/${channelId}`;
    if (usable) {
      const entry = this.#entries.get(key);
      if (entry && this.#isCurrent(entry)) {
        // Map order is recency order: move the entry to the end.
        this.#entries.delete(key);
        this.#entries.set(key, entry);
        return entry.standing;
      }
      if (entry) this.#entries.delete(key);
    }
    const readAt = this.#epoch;
    const standing = await load();
    if (usable && standing?.isMember) {
      this.#entries.set(key, { standing, readAt, expiresAt: this.#now() + this.#ttlMs });
      if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    }
    return standing;
  }

  /** Something that decides access in this community changed: no standing read before now is used again. */
  forgetServer(serverId: string): void {
    if (this.#changedAt.size >= MAX_CHANGED_SERVERS) {
      this.forgetAll();
      return;
    }
    this.#epoch += 1;
    this.#changedAt.set(serverId, this.#epoch);
  }

  /** Drops every standing (this pod may have missed changes, e.g. its Redis subscription was down). */
  forgetAll(): void {
    this.#epoch += 1;
    this.#allChangedAt = this.#epoch;
    this.#entries.clear();
    this.#changedAt.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  #isCurrent(entry: Entry): boolean {
    const changedAt = Math.max(this.#allChangedAt, this.#changedAt.get(entry.standing.channel.server_id) ?? 0);
    return entry.readAt >= changedAt && entry.expiresAt > this.#now();
  }
}
