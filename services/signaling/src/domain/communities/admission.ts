import type { MemberRow, ServerRow } from '@parley/db';
import { limits } from '@parley/protocol';
import { AppError } from '../../errors.ts';
import type { Repositories } from '../store.ts';

/**
 * Makes a user an active member holding the `member` role, inside the
 * caller's transaction; undefined when they already were one (a concurrent
 * join of the same user on another pod waits on the row and lands here).
 * The member count is raised in the same statement that checks the
 * community's cap, so concurrent joins can never pass it. Throws `server_full`.
 */
export async function admitMember(
  repos: Repositories,
  admission: { server: Pick<ServerRow, 'id'>; userId: string; nickname: string | null },
): Promise<MemberRow | undefined> {
  const { server, userId, nickname } = admission;
  const member = await repos.members.activate({ serverId: server.id, userId, nickname });
  if (!member) return undefined;
  if (!(await repos.servers.addMember(server.id, limits.membersPerServer.max))) throw new AppError('server_full');
  const memberRole = await repos.roles.getBuiltin(server.id, 'member');
  if (memberRole) await repos.roles.grant(server.id, userId, [memberRole.id]);
  return member;
}
