import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AdminContext } from './admin-context.ts';
import { importUsers } from './import-users.ts';

/** What a command prints to: the CLI's stdout, or a test's buffer. */
export type Output = (line: string) => void;

interface AdminCommand {
  usage: string;
  options: Record<string, { type: 'string' }>;
  /** Resolves with the exit code. */
  run(context: AdminContext, values: Record<string, string | undefined>, print: Output): Promise<number>;
}

/** A user named by id or by username. */
async function findUser(context: AdminContext, idOrUsername: string) {
  const { users } = context.store.repos;
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrUsername);
  return (isUuid ? await users.get(idOrUsername) : undefined) ?? (await users.getByUsername(idOrUsername));
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
  return { command, values: values as Record<string, string | undefined> };
}
