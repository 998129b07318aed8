import type { Database } from '@parley/db';
import type { BuiltinRole } from '@parley/protocol';
import { admitMember } from '../../src/domain/communities/membership/admission.ts';
import { Store } from '../../src/domain/store.ts';

/**
 * Makes a user an active member of a community through the real
 * repositories, as a join would, holding `member` plus any `roles` (built-in
 * role keys). For tests whose subject is not joining itself.
 */
export async function addMember(
  database: Database,
  serverId: string,
  userId: string,
  options: { roles?: BuiltinRole[]; nickname?: string } = {},
): Promise<void> {
  await new Store(database.db).transaction(async (repos) => {
    const server = await repos.servers.get(serverId);
    if (!server) throw new Error(`no community ${serverId}`);
    await admitMember(repos, { server, userId, nickname: options.nickname ?? null });
    for (const key of options.roles ?? []) {
      const role = await repos.roles.getBuiltin(serverId, key);
      if (!role) throw new Error(`community ${serverId} has no ${key} role`);
      await repos.roles.grant(serverId, userId, [role.id]);
    }
  });
}

/** The id of one of a community's built-in roles. */
export async function builtinRoleId(database: Database, serverId: string, key: BuiltinRole): Promise<string> {
  const role = await new Store(database.db).repos.roles.getBuiltin(serverId, key);
  if (!role) throw new Error(`community ${serverId} has no ${key} role`);
  return role.id;
}
