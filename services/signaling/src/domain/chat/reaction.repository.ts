import type { DB } from '@parley/db';
import type { Reaction } from '@parley/protocol';
import { sql, type Kysely } from 'kysely';

export class ReactionRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Adds the reaction, or removes it if it was there: true when added. */
  async toggle(messageId: string, userId: string, emoji: string): Promise<boolean> {
    const removed = await this.#db
      .deleteFrom('message_reactions')
      .where('message_id', '=', messageId)
      .where('user_id', '=', userId)
      .where('emoji', '=', emoji)
      .returning('emoji')
      .executeTakeFirst();
    if (removed) return false;
    await this.#db
      .insertInto('message_reactions')
      .values({ message_id: messageId, user_id: userId, emoji })
      .onConflict((conflict) => conflict.doNothing())
      .execute();
    return true;
  }

  async count(messageId: string, emoji: string): Promise<number> {
    const row = await this.#db
      .selectFrom('message_reactions')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('message_id', '=', messageId)
      .where('emoji', '=', emoji)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** The distinct emoji on a message. */
  async emojiOf(messageId: string): Promise<string[]> {
    const rows = await this.#db.selectFrom('message_reactions').select('emoji').distinct().where('message_id', '=', messageId).execute();
    return rows.map((row) => row.emoji);
  }

  /** The reactions of each message, by emoji in order of first use; `me` for `viewerId`. */
  async listFor(messageIds: readonly string[], viewerId: string): Promise<Map<string, Reaction[]>> {
    const byMessage = new Map<string, Reaction[]>();
    if (messageIds.length === 0) return byMessage;
    const rows = await this.#db
      .selectFrom('message_reactions')
      .select([
        'message_id',
        'emoji',
        (eb) => eb.fn.countAll<string>().as('count'),
        sql<boolean>`bool_or(user_id = ${viewerId})`.as('me'),
        (eb) => eb.fn.min('created_at').as('first'),
      ])
      .where('message_id', 'in', messageIds)
      .groupBy(['message_id', 'emoji'])
      .orderBy('message_id')
      .orderBy('first')
      .execute();
    for (const row of rows) {
      const reaction = { emoji: row.emoji, count: Number(row.count), me: row.me };
      byMessage.set(row.message_id, [...(byMessage.get(row.message_id) ?? []), reaction]);
    }
    return byMessage;
  }
}
