import { limits } from '@parley/protocol';
import { z } from 'zod';
import { isKnownPasswordHash } from '../adapters/argon2/legacy-hashes.ts';
import type { Store } from '../domain/store.ts';

/**
 * One account from a seed system, one JSON object per line:
 * `{ "id"?: uuid, "username", "displayName"?, "passwordHash" }`. The hash may
 * be argon2, bcrypt or the MetoYou seed's legacy SHA-256; it is upgraded to
 * argon2id at the account's next sign-in. Keeping `id` keeps the seed's user
 * ids, which clients may have stored.
 */
const importedUser = z.object({
  id: z.uuid().optional(),
  username: z
    .string()
    .min(limits.username.min)
    .max(limits.username.max)
    .regex(/^[A-Za-z0-9_.-]+$/, 'may contain only letters, digits, "_", "." and "-"'),
  displayName: z.string().trim().min(1).max(limits.displayName.max).optional(),
  passwordHash: z.string().max(1024).refine(isKnownPasswordHash, 'is not an argon2, bcrypt or SHA-256 hash'),
});
type ImportedUser = z.infer<typeof importedUser>;

export interface ImportReport {
  imported: number;
  /** Usernames (or ids) already present: left as they are. */
  skipped: string[];
  /** Lines that failed validation; when there are any, nothing is imported. */
  problems: string[];
}

/** Validates every line first; imports only a file without problems, in one transaction. */
export async function importUsers(store: Store, jsonLines: string): Promise<ImportReport> {
  const users: ImportedUser[] = [];
  const problems: string[] = [];
  jsonLines.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      problems.push(`line ${index + 1}: not valid JSON`);
      return;
    }
    const result = importedUser.safeParse(parsed);
    if (result.success) users.push(result.data);
    else {
      const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(line)'} ${issue.message}`);
      problems.push(`line ${index + 1}: ${issues.join('; ')}`);
    }
  });
  if (problems.length > 0) return { imported: 0, skipped: [], problems };

  const skipped: string[] = [];
  await store.transaction(async (repos) => {
    for (const user of users) {
      const created = await repos.users.create({
        id: user.id,
        username: user.username,
        displayName: user.displayName ?? user.username,
        passwordHash: user.passwordHash,
      });
      if (!created) skipped.push(user.username);
    }
  });
  return { imported: users.length - skipped.length, skipped, problems };
}
