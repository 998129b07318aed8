import { migrateToLatest, openDatabase } from '@parley/db';
import { startCluster, startLocalPostgres, startLocalRedis, type Cluster } from '@parley/testkit';
import { z } from 'zod';

// npm run cluster: a local multi-pod cluster without Docker. Starts a private
// redis-server and postgres from the local binaries, migrates, and runs PODS
// signaling pods on BASE_PORT, BASE_PORT+1, ... in the foreground until Ctrl-C.
// Data lives in a temporary directory and is gone when the cluster stops.

const env = z
  .object({
    PODS: z.coerce.number().int().min(1).max(16).default(3),
    BASE_PORT: z.coerce.number().int().min(1).max(65_000).default(5001),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  })
  .safeParse(Object.fromEntries(Object.entries(process.env).filter(([, value]) => value)));
if (!env.success) {
  process.stderr.write(`${z.prettifyError(env.error)}\n`);
  process.exit(2);
}
const { PODS, BASE_PORT, LOG_LEVEL } = env.data;

const out = (line: string) => process.stdout.write(`${line}\n`);
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** One readable line per JSON log line: time, level, message, then the other fields. */
function readable(prefix: string, line: string): string {
  try {
    const { time, level, msg, nodeId: _nodeId, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `[${prefix}] ${String(time).slice(11, 23)} ${LEVELS[Number(level)] ?? level} ${String(msg)}${extra}`;
  } catch {
    return `[${prefix}] ${line}`;
  }
}

out('Starting a private Postgres and Redis from local binaries...');
const [postgres, redis] = await Promise.all([startLocalPostgres(), startLocalRedis()]);
let cluster: Cluster | undefined;

async function stopAll(code: number): Promise<never> {
  out('\nStopping...');
  await cluster?.stop();
  await Promise.all([redis.stop(), postgres.stop()]);
  process.exit(code);
}
process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

try {
  const database = await openDatabase({ kind: 'postgres', url: postgres.url });
  out(`Migrations applied: ${(await migrateToLatest(database.db)).join(', ') || 'none'}`);
  await database.close();

  cluster = await startCluster({
    pods: PODS,
    basePort: BASE_PORT,
    databaseUrl: postgres.url,
    redisUrl: redis.url,
    redisKeyPrefix: 'parley:',
    env: { LOG_LEVEL },
    onLine: (pod, line) => out(readable(`pod-${pod + 1}`, line)),
  });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  await stopAll(1);
}

out('');
out(`Postgres: ${postgres.url}`);
out(`Redis:    ${redis.url}`);
for (const pod of cluster?.pods ?? []) out(`${pod.nodeId}:    ${pod.url}`);
out('Press Ctrl-C to stop.');
