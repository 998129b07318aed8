import type { DB, ServerRow } from '@parley/db';
import { sql, type Kysely } from 'kysely';

/** Joins and messages of one community in one hour, to be added to what is stored. */
export interface ActivityCounts {
  serverId: string;
  /** The start of the hour. */
  hour: Date;
  joins: number;
  messages: number;
}

/** How trending weighs activity (see `DiscoveryService.trending`). */
export interface TrendingFormula {
  /** What one join is worth; a message is worth 1. */
  joinWeight: number;
  /** Activity this many hours old counts half. */
  halfLifeHours: number;
  /** Only buckets whose hour is less than this old count. */
  windowHours: number;
}

export type TrendingRow = ServerRow & { score: number };

/** `server_activity`: hourly counts per community, what trending ranks by. */
export class ActivityRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /**
   * Adds the counts in one statement. Rows of communities that no longer
   * exist are left out rather than failing the batch. The rows are inserted
   * in key order so that pods flushing at once lock them in the same order
   * and cannot deadlock.
   */
  async add(batch: readonly ActivityCounts[]): Promise<void> {
    if (batch.length === 0) return;
    await sql`
      insert into server_activity (server_id, hour, joins, messages)
      select batch.server_id, batch.hour, batch.joins, batch.messages
      from unnest(
        ${batch.map((row) => row.serverId)}::uuid[],
        ${batch.map((row) => row.hour.toISOString())}::timestamptz[],
        ${batch.map((row) => row.joins)}::integer[],
        ${batch.map((row) => row.messages)}::integer[]
      ) as batch (server_id, hour, joins, messages)
      where exists (select 1 from servers where servers.id = batch.server_id)
      order by batch.server_id, batch.hour
      on conflict (server_id, hour) do update
        set joins = server_activity.joins + excluded.joins,
            messages = server_activity.messages + excluded.messages
    `.execute(this.#db);
  }

  /**
   * Discoverable communities with activity in the window, by score:
   * Σ (joinWeight × joins + messages) × 2^(−age_hours / halfLifeHours) over
   * their buckets, age measured from the bucket's hour to `now` (a bucket
   * ahead of `now`, from a pod whose clock runs fast, counts as age 0);
   * ties by member count, then id.
   */
  listTrending(options: { now: Date; formula: TrendingFormula; limit: number }): Promise<TrendingRow[]> {
    const { now, formula } = options;
    const since = new Date(now.getTime() - formula.windowHours * 3_600_000);
    const score = sql<number>`sum(
      (${formula.joinWeight}::float8 * server_activity.joins + server_activity.messages)
      * power(2::float8, -greatest(0::float8, extract(epoch from ${now}::timestamptz - server_activity.hour)::float8)
        / ${formula.halfLifeHours * 3600}::float8)
    )`;
    const ranked = this.#db
      .selectFrom('server_activity')
      .select(['server_id', score.as('score')])
      .where('hour', '>', since)
      .groupBy('server_id')
      .having(sql<boolean>`sum(server_activity.joins + server_activity.messages) > 0`);
    return this.#db
      .selectFrom(ranked.as('ranked'))
      .innerJoin('servers', 'servers.id', 'ranked.server_id')
      .selectAll('servers')
      .select('ranked.score')
      .where('servers.discoverable', '=', true)
      .orderBy('ranked.score', 'desc')
      .orderBy('servers.member_count', 'desc')
      .orderBy('servers.id')
      .limit(options.limit)
      .execute();
  }
}
