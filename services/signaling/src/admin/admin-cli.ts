import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isUuid } from '@parley/protocol';
import type { AdminContext } from './admin-context.ts';
import { importUsers } from './import-users.ts';

/** What a command prints to: the CLI's stdout, or a test's buffer. */
export type Output = (line: string) => void;

interface AdminCommand {
  usage: string;
  options: Record<string, { type: 'string' | 'boolean' }>;
  /** Resolves with the exit code. Boolean options arrive as 'true' or not at all. */
  run(context: AdminContext, values: Record<string, string | undefined>, print: Output): Promise<number>;
}


/** A user named by id or by username. */
async function findUser(context: AdminContext, idOrUsername: string) {
  const { users } = context.store.repos;
  return (isUuid(idOrUsername) ? await users.get(idOrUsername) : undefined) ?? (await users.getByUsername(idOrUsername));
}

/** A user named by `--user` (id or username) or, as in the Gryt seed, `--grytUserId` (their OIDC subject). */
async function findUserOption(context: AdminContext, values: Record<string, string | undefined>) {
  if (values.user) return findUser(context, values.user);
  const issuer = context.config.auth.oidc?.issuer;
  if (values.grytUserId && issuer) return context.store.repos.oidcIdentities.getUser(issuer, values.grytUserId);
  return undefined;
}

/** The community named by `--server`, or the `SERVER_NAME` one. */
function serverOption(context: AdminContext, values: Record<string, string | undefined>): string | undefined {
  try {
    return context.communities.resolveServerId(values.server);
  } catch {
    return undefined;
  }
}

export const adminCommands: Record<string, AdminCommand> = {
  'revoke-sessions': {
    usage: 'revoke-sessions --user <id|username>   end every session of a user; their sockets close on every pod',
    options: { user: { type: 'string' } },
    async run(context, values, print) {
      if (!values.user) return usageError(print, 'revoke-sessions needs --user');
      const user = await findUser(context, values.user);
      if (!user) {
        print(`no user ${values.user}`);
        return 1;
      }
      const revoked = await context.accounts.revokeAllSessions(user.id);
      print(`revoked ${revoked} session(s) of ${user.username} (${user.id})`);
      return 0;
    },
  },
  'set-owner': {
    usage:
      'set-owner [--server <id>] --user <id|username> | --grytUserId <oidc sub>   transfer a community (default: the SERVER_NAME one)',
    options: { server: { type: 'string' }, user: { type: 'string' }, grytUserId: { type: 'string' } },
    async run(context, values, print) {
      const serverId = serverOption(context, values);
      if (!serverId || !isUuid(serverId)) return usageError(print, 'set-owner needs --server <id> (or SERVER_NAME set)');
      if (!values.user && !values.grytUserId) return usageError(print, 'set-owner needs --user or --grytUserId');
      const user = await findUserOption(context, values);
      if (!user) {
        print(`no user ${values.user ?? values.grytUserId}`);
        return 1;
      }
      const server = await context.store.repos.servers.get(serverId);
      if (!server) {
        print(`no server ${serverId}`);
        return 1;
      }
      const { previousOwnerId } = await context.communities.setOwner(serverId, user.id);
      print(`${user.username} (${user.id}) now owns ${server.name} (${serverId}); previous owner: ${previousOwnerId ?? 'none'}`);
      return 0;
    },
  },
  feature: {
    usage: 'feature --server <id> [--off]   list a discoverable community under GET /api/servers/featured (or stop)',
    options: { server: { type: 'string' }, off: { type: 'boolean' } },
    async run(context, values, print) {
      if (!values.server || !isUuid(values.server)) return usageError(print, 'feature needs --server <id>');
      const featured = values.off === undefined;
      try {
        await context.discovery.setFeatured(values.server, featured);
      } catch (error) {
        print((error as Error).message);
        return 1;
      }
      print(`${values.server} is ${featured ? 'now featured' : 'no longer featured'}`);
      return 0;
    },
  },
  'import-users': {
    usage: 'import-users --file <users.jsonl>     import accounts from a seed system (see docs/operations.md)',
    options: { file: { type: 'string' } },
    async run(context, values, print) {
      if (!values.file) return usageError(print, 'import-users needs --file');
      const report = await importUsers(context.store, await readFile(values.file, 'utf8'));
      for (const problem of report.problems) print(problem);
      if (report.problems.length > 0) {
        print(`nothing imported: fix the ${report.problems.length} problem(s) above`);
        return 1;
      }
      print(`imported ${report.imported} user(s)`);
      if (report.skipped.length > 0) print(`skipped ${report.skipped.length} already present: ${report.skipped.join(', ')}`);
      return 0;
    },
  },
};

function usageError(print: Output, message: string): number {
  print(message);
  print(usage());
  return 2;
}

export function usage(): string {
  const lines = Object.values(adminCommands).map((command) => `  npm run admin -- ${command.usage}`);
  return ['usage:', ...lines].join('\n');
}

/** Parses `argv` (after the script name) into a command and its options; undefined when it is not one. */
export function parseAdminArgs(argv: string[]): { command: AdminCommand; values: Record<string, string | undefined> } | undefined {
  const [name, ...rest] = argv;
  const command = name ? adminCommands[name] : undefined;
  if (!command) return undefined;
  const { values } = parseArgs({ args: rest, options: command.options, strict: true });
  const asText = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value === undefined ? undefined : String(value)]));
  return { command, values: asText };
}
