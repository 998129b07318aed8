import type { BuiltinRole } from '@parley/protocol';
import { Store } from '../../src/domain/store.ts';
import { addMember, builtinRoleId } from './communities.ts';
import type { TestNode } from './test-node.ts';
import { registerUser, type TestUser } from './users.ts';

/** A well-formed id that names nothing. */
export const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

export const idOf = (user: TestUser): string => user.session.id;

/** A community's ids: its own, its first channel's and its built-in roles'. */
export interface Community {
  id: string;
  generalId: string;
  roles: Record<BuiltinRole, string>;
}

/** Five users and two communities for the community admin tests (see `cast`). */
export interface Cast {
  owner: TestUser;
  admin: TestUser;
  moderator: TestUser;
  member: TestUser;
  outsider: TestUser;
  /** The community most tests act on: `owner`'s, with `admin`, `moderator` and `member`. */
  main: Community;
  /** `outsider`'s, where `owner` is a plain member and `admin` an admin: its ids must not work under `main`'s URL. */
  foreign: Community;
}

/** A fresh community with a member at every rank, for the moderation tests. */
export interface StaffedCommunity {
  serverId: string;
  channelId: string;
  owner: TestUser;
  admin: TestUser;
  mod: TestUser;
  mod2: TestUser;
  member: TestUser;
  member2: TestUser;
}

/**
 * Communities and members made through the real repositories, bound to the
 * test node a test file starts in `beforeAll` (hence a getter).
 */
export function communityFixtures(node: () => TestNode) {
  /** A community owned by `owner` with these members (each holding `member` plus the listed built-in roles). */
  async function community(owner: TestUser, members: Array<[TestUser, BuiltinRole[]]> = []): Promise<Community> {
    const { database } = node();
    const server = await owner.http.createServer({ name: `Community ${Math.random().toString(36).slice(2, 8)}` });
    for (const [user, roles] of members) await addMember(database, server.id, user.session.id, { roles });
    const rows = await database.db.selectFrom('roles').select(['id', 'builtin']).where('server_id', '=', server.id).execute();
    const roles = Object.fromEntries(rows.map((row) => [row.builtin, row.id])) as Record<BuiltinRole, string>;
    return { id: server.id, generalId: server.channels[0]!.id, roles };
  }

  /** Registers the cast and makes their two communities. */
  async function cast(): Promise<Cast> {
    const [owner, admin, moderator, member, outsider] = await Promise.all(Array.from({ length: 5 }, () => registerUser(node().url)));
    const main = await community(owner!, [
      [admin!, ['admin']],
      [moderator!, ['moderator']],
      [member!, []],
    ]);
    // The owner and admin of `main` are members of `foreign` too: only the URL's community counts.
    const foreign = await community(outsider!, [
      [owner!, []],
      [admin!, ['admin']],
    ]);
    return { owner: owner!, admin: admin!, moderator: moderator!, member: member!, outsider: outsider!, main, foreign };
  }

  /** A fresh community: an owner, then (in this join order) an admin, two moderators and two plain members. */
  async function staffedCommunity(): Promise<StaffedCommunity> {
    const [owner, admin, mod, mod2, member, member2] = await Promise.all(Array.from({ length: 6 }, () => registerUser(node().url)));
    const server = await owner!.http.createServer({ name: 'moderated' });
    const ranks: Array<[TestUser, BuiltinRole[]]> = [
      [admin!, ['admin']],
      [mod!, ['moderator']],
      [mod2!, ['moderator']],
      [member!, []],
      [member2!, []],
    ];
    for (const [user, roles] of ranks) await addMember(node().database, server.id, user.session.id, { roles });
    return {
      serverId: server.id,
      channelId: server.channels[0]!.id,
      owner: owner!,
      admin: admin!,
      mod: mod!,
      mod2: mod2!,
      member: member!,
      member2: member2!,
    };
  }

  /** Gives a user a role directly, as an assignment by a moderator would. */
  async function grant(serverId: string, user: TestUser, roleId: string): Promise<void> {
    await new Store(node().database.db).repos.roles.grant(serverId, user.session.id, [roleId]);
  }

  function roleId(serverId: string, builtin: BuiltinRole): Promise<string> {
    return builtinRoleId(node().database, serverId, builtin);
  }

  function memberRow(serverId: string, user: TestUser) {
    return node()
      .database.db.selectFrom('members')
      .selectAll()
      .where('server_id', '=', serverId)
      .where('user_id', '=', user.session.id)
      .executeTakeFirstOrThrow();
  }

  async function memberCount(serverId: string): Promise<number> {
    const row = await node().database.db.selectFrom('servers').select('member_count').where('id', '=', serverId).executeTakeFirstOrThrow();
    return row.member_count;
  }

  return { community, cast, staffedCommunity, grant, roleId, memberRow, memberCount };
}
