import type { DB, MemberRow } from '@parley/db';
import type { Kysely } from 'kysely';

export class MemberRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  getActive(serverId: string, userId: string): Promise<MemberRow | undefined> {
    return this.#db
      .selectFrom('members')
      .selectAll()
      .where('server_id', '=', serverId)
      .where('user_id', '=', userId)
      .where('active', '=', true)
      .executeTakeFirst();
  }

  create(values: { serverId: string; userId: string; nickname: string | null }): Promise<MemberRow> {
    return this.#db
      .insertInto('members')
      .values({ server_id: values.serverId, user_id: values.userId, nickname: values.nickname })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Ids of the servers a user is an active member of, and of their channels. */
  async listSubscriptions(userId: string): Promise<{ serverIds: string[]; channelIds: string[] }> {
    const rows = await this.#db
      .selectFrom('members')
      .leftJoin('channels', 'channels.server_id', 'members.server_id')
      .select(['members.server_id as serverId', 'channels.id as channelId'])
      .where('members.user_id', '=', userId)
      .where('members.active', '=', true)
      .execute();
    return {
      serverIds: [...new Set(rows.map((row) => row.serverId))],
      channelIds: rows.flatMap((row) => (row.channelId ? [row.channelId] : [])),
    };
  }
}
