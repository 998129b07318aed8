import type { MemberRow, ServerRow } from '@parley/db';
import { limits } from '@parley/protocol';
import { AppError } from '../../../errors.ts';
import type { Repositories } from '../../store.ts';
import type { AuditRecord } from '../audit-log.repository.ts';

/**
 * Makes a user an active member holding the `member` role, inside the
 * caller's transaction; undefined when they already were one (a concurrent
 * join of the same user on another pod waits on the row and lands here).
 * `audit` is appended with it. The member count is raised last, in the
 * statement that checks the community's cap, so concurrent joins can never
 * pass it, and the community's row (every join's one point of contention)
 * stays locked only until the commit. Throws `server_full`.
 */
export async function admitMember(
  repos: Repositories,
  admission: { server: Pick<ServerRow, 'id'>; userId: string; nickname: string | null; audit?: AuditRecord },
): Promise<MemberRow | undefined> {
  const { server, userId, nickname } = admission;
  const member = await repos.members.activate({ serverId: server.id, userId, nickname });
  if (!member) return undefined;
  await repos.roles.grantBuiltin(server.id, userId, 'member');
  if (admission.audit) await repos.auditLog.append(admission.audit);
  if (!(await repos.servers.addMember(server.id, limits.membersPerServer.max))) throw new AppError('server_full');
  return member;
}
