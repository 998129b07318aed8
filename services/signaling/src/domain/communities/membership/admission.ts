import type { MemberRow, ServerRow } from '@parley/db';
import { limits } from '@parley/protocol';
import { AppError } from '../../../errors.ts';
import type { Repositories } from '../../store.ts';
import type { AuditRecord } from '../audit-log.repository.ts';

interface Admission {
  userId: string;
  nickname: string | null;
  audit?: AuditRecord;
}

/**
 * Makes a user an active member holding the `member` role, inside the
 * caller's transaction; undefined when they already were one (a concurrent
 * join of the same user on another pod waits on the row and lands here).
 * `audit` is appended with it. The member count is raised last, in the
 * statement that checks the community's cap, so the cap is exact — at the
 * price of the community's row staying locked until the commit. For the
 * rare admissions (claims, approvals, `set-owner`, new communities); the
 * joins of `server:join` go through `admitMemberCountedLater`. Throws `server_full`.
 */
export async function admitMember(
  repos: Repositories,
  admission: Admission & { server: Pick<ServerRow, 'id'> },
): Promise<MemberRow | undefined> {
  const member = await enrol(repos, admission.server.id, admission);
  if (!member) return undefined;
  if (!(await repos.servers.addMember(admission.server.id, limits.membersPerServer.max))) throw new AppError('server_full');
  return member;
}

/**
 * `admitMember` without raising the member count, so that concurrent joins
 * do not queue on the community's row through each other's commits: the
 * caller recounts after the commit (`MemberCounts.refresh`). The cap is
 * checked first, against `server` as the caller read it, so joins in flight
 * at once do not see each other: together they may pass the cap by at most
 * their number (docs/protocol.md, `server:join`). One statement: atomic
 * outside a transaction too. Throws `server_full`.
 */
export async function admitMemberCountedLater(
  repos: Repositories,
  admission: Admission & { server: Pick<ServerRow, 'id' | 'member_count' | 'max_members'>; audit: AuditRecord },
): Promise<MemberRow | undefined> {
  const { server, audit } = admission;
  const cap = Math.min(server.max_members ?? limits.membersPerServer.max, limits.membersPerServer.max);
  if (server.member_count >= cap) throw new AppError('server_full');
  return repos.members.admit({
    serverId: server.id,
    userId: admission.userId,
    nickname: admission.nickname,
    builtin: 'member',
    audit: { actorId: audit.actorId, action: audit.action, details: audit.details ?? {} },
  });
}

async function enrol(repos: Repositories, serverId: string, admission: Admission): Promise<MemberRow | undefined> {
  const member = await repos.members.activate({ serverId, userId: admission.userId, nickname: admission.nickname });
  if (!member) return undefined;
  await repos.roles.grantBuiltin(serverId, admission.userId, 'member');
  if (admission.audit) await repos.auditLog.append(admission.audit);
  return member;
}
