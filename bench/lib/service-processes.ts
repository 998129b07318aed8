import { listProcesses, processTreeTarget, type CpuTarget } from './process-cpu.ts';

// testkit starts Postgres and Redis but does not hand their processes to the
// bench; they are found again by the port in their URL, so their CPU can be
// reported next to the pods'. An external server (DATABASE_URL, REDIS_URL on
// another host) is simply not found, and its CPU is reported as not measured.

function portOf(url: string, fallback: string): string {
  return new URL(url).port || fallback;
}

/** The postmaster listening on the URL's port. */
function findPostmaster(databaseUrl: string): number | undefined {
  const port = portOf(databaseUrl, '5432');
  return listProcesses().find(({ argv }) => {
    if (!/(^|\/)postgres$/.test(argv[0] ?? '')) return false;
    const flag = argv.indexOf('-p');
    return flag >= 0 && argv[flag + 1] === port;
  })?.pid;
}

/** redis-server renames itself `<path>redis-server <host>:<port>`; started by hand it shows `--port <port>`. */
function findRedis(redisUrl: string): number | undefined {
  const port = portOf(redisUrl, '6379');
  return listProcesses().find(({ argv }) => {
    const line = argv.join(' ');
    return /(^|\/)redis-server( |$)/.test(line) && (line.includes(`:${port}`) || line.includes(`--port ${port}`));
  })?.pid;
}

/** Postgres (postmaster, backends and background workers) and Redis of these URLs, as CPU targets. */
export function backingServiceTargets(urls: { databaseUrl: string; redisUrl: string }): CpuTarget[] {
  let postmaster: number | undefined;
  let redis: number | undefined;
  return [
    processTreeTarget('postgres (all backends)', 'postgres', () => (postmaster ??= findPostmaster(urls.databaseUrl))),
    processTreeTarget('redis', 'redis', () => (redis ??= findRedis(urls.redisUrl))),
  ];
}
