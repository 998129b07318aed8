import path from 'node:path';
import { migrateDown, migrateToLatest, openDatabase, pendingMigrations } from '@parley/db';
import { z } from 'zod';

// npm run migrate [-- up | down | status]
// Migrates DATABASE_URL (Postgres) or, without it, the embedded PGlite database under DATA_DIR.
// In a cluster this runs once per deploy (a Kubernetes Job, a compose one-shot), never in every pod.

const env = z
  .object({
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DATA_DIR: z.string().min(1).default('./data'),
  })
  .safeParse(Object.fromEntries(Object.entries(process.env).filter(([, value]) => value)));
const command = process.argv[2] ?? 'up';

if (!env.success || !['up', 'down', 'status'].includes(command)) {
  process.stderr.write(
    `${env.error ? `${z.prettifyError(env.error)}\n` : ''}usage: npm run migrate [-- up | down | status]\n`,
  );
  process.exit(2);
}

const { DATABASE_URL, DATA_DIR } = env.data;
const target = DATABASE_URL
  ? // A migration may rewrite a large table: no statement time limit.
    ({ kind: 'postgres', url: DATABASE_URL, queryTimeoutMs: 0 } as const)
  : ({ kind: 'pglite', dataDir: path.resolve(DATA_DIR, 'db') } as const);
const where = target.kind === 'postgres' ? new URL(target.url).host + new URL(target.url).pathname : target.dataDir;
const database = await openDatabase(target);
try {
  if (command === 'status') {
    const pending = await pendingMigrations(database.db);
    process.stdout.write(pending.length ? `${where}: pending ${pending.join(', ')}\n` : `${where}: up to date\n`);
  } else {
    const names = command === 'up' ? await migrateToLatest(database.db) : await migrateDown(database.db);
    const verb = command === 'up' ? 'applied' : 'reverted';
    process.stdout.write(names.length ? `${where}: ${verb} ${names.join(', ')}\n` : `${where}: nothing to do\n`);
  }
} catch (error) {
  process.stderr.write(`${where}: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await database.close();
}
