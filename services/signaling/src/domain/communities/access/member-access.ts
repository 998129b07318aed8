import type { ChannelOverrideRow, ChannelRow, MemberRow, RoleRow, ServerRow } from '@parley/db';
import { OWNER_RANK, type Permission } from '@parley/protocol';
import { AppError } from '../../../errors.ts';
import type { Repositories } from '../../store.ts';
import { channelPermissionsOf, isMuted, rankOf, serverPermissions, viewableChannels, type Grant } from './permissions.ts';

/** What one member may do in one community, loaded once per action. */
export class MemberAccess {
  readonly server: ServerRow;
  readonly member: MemberRow;
  readonly roles: readonly RoleRow[];
  readonly isOwner: boolean;
  readonly rank: number;
  readonly permissions: ReadonlySet<Permission>;

  constructor(server: ServerRow, member: MemberRow, roles: readonly RoleRow[]) {
    this.server = server;
    this.member = member;
    this.roles = roles;
    this.isOwner = server.owner_id === member.user_id;
    this.rank = rankOf(this.#grant());
    this.permissions = serverPermissions(this.#grant());
  }

  has(permission: Permission): boolean {
    return this.permissions.has(permission);
  }

  /** Throws `forbidden` unless the member holds `permission`. */
  require(permission: Permission): void {
    if (!this.has(permission)) throw new AppError('forbidden', `This needs the ${permission} permission`);
  }

  /** Throws `insufficient_rank` unless the member ranks strictly above `rank`. */
  requireOutranks(rank: number): void {
    if (this.rank <= rank) throw new AppError('insufficient_rank');
  }

  /** The member's permissions in one channel, given that channel's overrides. */
  inChannel(overrides: ReadonlyArray<Pick<ChannelOverrideRow, 'role_id' | 'allow' | 'deny'>>): Set<Permission> {
    return channelPermissionsOf(this.#grant(), overrides);
  }

  /** The channels among `channels` the member may view, given their overrides. */
  viewable<C extends Pick<ChannelRow, 'id'>>(
    channels: readonly C[],
    overrides: ReadonlyArray<Pick<ChannelOverrideRow, 'channel_id' | 'role_id' | 'allow' | 'deny'>>,
  ): C[] {
    return viewableChannels(this.#grant(), channels, overrides);
  }

  isMuted(now: Date): boolean {
    return isMuted(this.member, now);
  }

  #grant(): Grant {
    return { isOwner: this.isOwner, roles: this.roles };
  }
}

/** Loads the actor's access to a community. Throws `server_not_found`, `not_a_member`. */
export async function loadAccess(repos: Repositories, serverId: string, userId: string): Promise<MemberAccess> {
  const [server, member, roles] = await Promise.all([
    repos.servers.get(serverId),
    repos.members.getActive(serverId, userId),
    repos.roles.listOfMember(serverId, userId),
  ]);
  if (!server) throw new AppError('server_not_found');
  if (!member) throw new AppError('not_a_member');
  return new MemberAccess(server, member, roles);
}

/** The rank of another member, whom an action targets. Throws `member_not_found`. */
export async function rankOfMember(repos: Repositories, server: ServerRow, userId: string): Promise<number> {
  if (server.owner_id === userId) return OWNER_RANK;
  const [member, roles] = await Promise.all([
    repos.members.getActive(server.id, userId),
    repos.roles.listOfMember(server.id, userId),
  ]);
  if (!member) throw new AppError('member_not_found');
  return rankOf({ isOwner: false, roles });
}
