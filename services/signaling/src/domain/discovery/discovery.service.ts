import { isUuid, type Page, type ServerPreview } from '@parley/protocol';
import { z } from 'zod';
import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import { toPreview } from '../communities/community.mappers.ts';
import { decodeCursor, encodeCursor, pageOf } from '../page-cursor.ts';
import type { Store } from '../store.ts';
import type { TrendingFormula } from './activity.repository.ts';

/** Trending: a join is worth 10 messages; activity loses half its weight every 24 h; only the last 7 days count. */
export const TRENDING_FORMULA: TrendingFormula = { joinWeight: 10, halfLifeHours: 24, windowHours: 7 * 24 };
/** How long one pod reuses a trending list before ranking again. */
export const TRENDING_CACHE_MS = 30_000;
/** Search pages through the first this many matches only: deeper offsets cost a scan and help nobody. */
export const MAX_SEARCH_RESULTS = 1000;

const listCursor = z.object({ createdAt: z.iso.datetime(), id: z.uuid() });
const searchCursor = z.object({ offset: z.number().int().min(1).max(MAX_SEARCH_RESULTS - 1) });

/**
 * Public discovery of communities: only `discoverable` ones are listed,
 * searched, featured or trending; no actor needed.
 */
export class DiscoveryService {
  readonly #store: Store;
  readonly #clock: Clock;
  /**
   * Trending lists by limit, shared by concurrent requests. Per pod: pods may
   * disagree for up to TRENDING_CACHE_MS, which a ranking can afford.
   */
  readonly #trending = new Map<number, { expiresAt: number; items: Promise<ServerPreview[]> }>();

  constructor(deps: { store: Store; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
  }

  /** Newest first. Throws `invalid_payload` for a cursor it did not issue. */
  async list(query: { limit: number; cursor?: string | undefined }): Promise<Page<ServerPreview>> {
    const after = decodeCursor(query.cursor, listCursor);
    const rows = await this.#store.repos.servers.listDiscoverable({ after, limit: query.limit + 1 });
    return pageOf(rows, query.limit, (row) => ({ createdAt: row.position, id: row.id }), toPreview);
  }

  /**
   * Communities whose name or description contains `q`, case-insensitive and
   * literally: names starting with `q` first, then names containing it, then
   * descriptions only; then by member count. Pages through the first
   * MAX_SEARCH_RESULTS matches. Throws `invalid_payload` for a bad cursor.
   */
  async search(query: { q: string; limit: number; cursor?: string | undefined }): Promise<Page<ServerPreview>> {
    const offset = decodeCursor(query.cursor, searchCursor)?.offset ?? 0;
    const limit = Math.min(query.limit, MAX_SEARCH_RESULTS - offset);
    const rows = await this.#store.repos.servers.searchDiscoverable(query.q, { offset, limit: limit + 1 });
    const next = offset + limit;
    const nextCursor = rows.length > limit && next < MAX_SEARCH_RESULTS ? encodeCursor({ offset: next }) : null;
    return { items: rows.slice(0, limit).map(toPreview), nextCursor };
  }

  /** Communities an operator featured, most recently featured first. */
  async featured(query: { limit: number }): Promise<ServerPreview[]> {
    return (await this.#store.repos.servers.listFeatured(query.limit)).map(toPreview);
  }

  /**
   * Communities by recent activity (see TRENDING_FORMULA and
   * `ActivityRepository.listTrending`); those without activity in the window
   * are left out. Cached per limit for TRENDING_CACHE_MS.
   */
  trending(query: { limit: number }): Promise<ServerPreview[]> {
    const now = this.#clock.now();
    const cached = this.#trending.get(query.limit);
    if (cached && cached.expiresAt > now.getTime()) return cached.items;
    const items = this.#store.repos.activity
      .listTrending({ now, formula: TRENDING_FORMULA, limit: query.limit })
      .then((rows) => rows.map(toPreview));
    const entry = { expiresAt: now.getTime() + TRENDING_CACHE_MS, items };
    this.#trending.set(query.limit, entry);
    // A failure is not cached: the next request ranks again.
    items.catch(() => {
      if (this.#trending.get(query.limit) === entry) this.#trending.delete(query.limit);
    });
    return items;
  }

  /** The public preview of any community, discoverable or not. Throws `server_not_found`. */
  async preview(serverId: string): Promise<ServerPreview> {
    const server = await this.#store.repos.servers.get(serverId);
    if (!server) throw new AppError('server_not_found');
    return toPreview(server);
  }

  /**
   * Features a community (again: it moves to the top) or stops featuring it;
   * for the admin CLI, audited as `server.feature` without an actor. Only
   * discoverable communities are listed. Throws `server_not_found`.
   */
  async setFeatured(serverId: string, featured: boolean): Promise<ServerPreview> {
    if (!isUuid(serverId)) throw new AppError('server_not_found');
    return this.#store.transaction(async (repos) => {
      const server = await repos.servers.update(serverId, { featured_at: featured ? this.#clock.now() : null });
      if (!server) throw new AppError('server_not_found');
      await repos.auditLog.append({ serverId, actorId: null, action: 'server.feature', details: { featured } });
      return toPreview(server);
    });
  }
}
