import { openDatabase, type Database } from '@parley/db';
import { startBackingServices, type BackingServices } from './backing-services.ts';
import { sql } from 'kysely';
import { admitMember, DEFAULT_TEXT_CHANNEL, hashSessionToken, newSessionToken, Store } from '@parley/signaling';

/** A user with a live session: `token` is what a client presents in its handshake. */
export interface SeededUser {
  id: string;
  username: string;
  token: string;
}

export interface SeededCommunity {
  serverId: string;
  /** Its text channel (`general`). */
  channelId: string;
  memberRoleId: string;
}

const ROWS_PER_INSERT = 1000;

/** Private Postgres and Redis (`backing-services.ts`) and a seeder on that database; the services are disposed if the seeder cannot open. */
export async function startSeededServices(): Promise<{ services: BackingServices; seeder: Seeder }> {
  const services = await startBackingServices();
  try {
    return { services, seeder: await Seeder.open(services.databaseUrl) };
  } catch (error) {
    await services.dispose();
    throw error;
  }
}
const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

/**
 * Writes the benchmark's users, sessions, communities and memberships straight
 * into the database. Registration hashes argon2id (about 60 a second here), far
 * too slow for ten thousand users, so users get no password and a session
 * token minted the way login mints one. Communities are created as
 * `CommunityService.createServer` creates them, through the real repositories;
 * memberships in bulk are the rows `admitMember` writes (member, `member` role,
 * member count), batched.
 */
export class Seeder {
  readonly #database: Database;
  readonly #store: Store;

  private constructor(database: Database) {
    this.#database = database;
    this.#store = new Store(database.db);
  }

  static async open(databaseUrl: string): Promise<Seeder> {
    return new Seeder(await openDatabase({ kind: 'postgres', url: databaseUrl, poolMax: 4 }));
  }

  /** `count` users named `<prefix>_<i>`, each with one session token. */
  async users(count: number, prefix: string): Promise<SeededUser[]> {
    const db = this.#database.db;
    const users: SeededUser[] = [];
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
    for (let first = 0; first < count; first += ROWS_PER_INSERT) {
      const names = Array.from({ length: Math.min(ROWS_PER_INSERT, count - first) }, (_, i) => `${prefix}_${first + i}`);
      const rows = await db
        .insertInto('users')
        .values(names.map((username) => ({ username, display_name: username, password_hash: null })))
        .returning(['id', 'username'])
        .execute();
      const batch = rows.map((row) => ({ id: row.id, username: row.username, token: newSessionToken() }));
      await db
        .insertInto('sessions')
        .values(batch.map((user) => ({ user_id: user.id, token_hash: hashSessionToken(user.token), expires_at: expiresAt })))
        .execute();
      users.push(...batch);
    }
    // insert … returning keeps no promised order: put the users back in name order.
    const index = (user: SeededUser) => Number(user.username.slice(prefix.length + 1));
    return users.sort((a, b) => index(a) - index(b));
  }

  /** A community owned (and joined) by `owner`, with the built-in roles and one text channel. */
  async community(owner: SeededUser, name: string, joinPolicy: 'open' | 'invite' = 'invite'): Promise<SeededCommunity> {
    return this.#store.transaction(async (repos) => {
      const server = await repos.servers.create({ name, description: null, ownerId: owner.id });
      const roles = await repos.roles.createBuiltins(server.id);
      const channel = await repos.channels.create({ serverId: server.id, name: DEFAULT_TEXT_CHANNEL, type: 'text', position: 0 });
      await admitMember(repos, { server, userId: owner.id, nickname: null });
      if (joinPolicy !== 'invite') await repos.servers.update(server.id, { join_policy: joinPolicy });
      const memberRole = roles.find((role) => role.builtin === 'member');
      if (!memberRole) throw new Error('the built-in member role was not created');
      return { serverId: server.id, channelId: channel.id, memberRoleId: memberRole.id };
    });
  }

  /**
   * `count` voice channels added to the community after its text channel, as
   * `ChannelAdminService.create` adds them (the audit entries left out); returns their ids.
   */
  async voiceChannels(community: SeededCommunity, count: number): Promise<string[]> {
    return this.#store.transaction(async (repos) => {
      const ids: string[] = [];
      for (let index = 0; index < count; index += 1) {
        const channel = await repos.channels.create({ serverId: community.serverId, name: `voice-${index + 1}`, type: 'voice', position: index + 1 });
        ids.push(channel.id);
      }
      return ids;
    });
  }

  /** Makes the users active members holding the `member` role, as `admitMember` does, in batches. */
  async addMembers(community: SeededCommunity, userIds: readonly string[]): Promise<void> {
    for (let first = 0; first < userIds.length; first += ROWS_PER_INSERT) {
      const batch = userIds.slice(first, first + ROWS_PER_INSERT);
      await this.#database.db.transaction().execute(async (trx) => {
        const added = await trx
          .insertInto('members')
          .values(batch.map((userId) => ({ server_id: community.serverId, user_id: userId, nickname: null })))
          .onConflict((conflict) => conflict.columns(['server_id', 'user_id']).doNothing())
          .returning('user_id')
          .execute();
        if (added.length === 0) return;
        await trx
          .insertInto('member_roles')
          .values(added.map(({ user_id }) => ({ server_id: community.serverId, user_id, role_id: community.memberRoleId })))
          .onConflict((conflict) => conflict.doNothing())
          .execute();
        await trx
          .updateTable('servers')
          .set((eb) => ({ member_count: eb('member_count', '+', added.length) }))
          .where('id', '=', community.serverId)
          .execute();
      });
    }
  }

  /** The channel's sequence: how many messages were ever persisted in it. */
  async lastSeq(channelId: string): Promise<number> {
    const row = await this.#database.db.selectFrom('channels').select('last_seq').where('id', '=', channelId).executeTakeFirstOrThrow();
    return Number(row.last_seq);
  }

  async memberCount(serverId: string): Promise<number> {
    const row = await this.#database.db.selectFrom('servers').select('member_count').where('id', '=', serverId).executeTakeFirstOrThrow();
    return row.member_count;
  }

  /** What the database's other connections (the pods') are doing now, one row per (state, wait event). */
  async backendStates(): Promise<Array<{ state: string; waitEventType: string | null; count: number }>> {
    const result = await sql<{ state: string | null; wait_event_type: string | null; count: string }>`
      select state, wait_event_type, count(*) as count
      from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
      group by state, wait_event_type`.execute(this.#database.db);
    return result.rows.map((row) => ({ state: row.state ?? 'unknown', waitEventType: row.wait_event_type, count: Number(row.count) }));
  }

  close(): Promise<void> {
    return this.#database.close();
  }
}
