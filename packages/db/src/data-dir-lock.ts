import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Another live process has the embedded database open. */
export class DataDirLockedError extends Error {
  readonly pid: number;

  constructor(dataDir: string, pid: number) {
    super(
      `${dataDir} is in use by process ${pid}. The embedded database can be opened by one process at a time: ` +
        'stop the running Parley node first.',
    );
    this.name = 'DataDirLockedError';
    this.pid = pid;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock on an embedded database directory for this process, so that
 * a second process (another node, the admin CLI, a migration) cannot open
 * PGlite's files at the same time and corrupt them. A lock left by a process
 * that died is taken over. Resolves with the release function.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'parley.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) throw new DataDirLockedError(dataDir, holder);
      await rm(file, { force: true });
    }
  }
  throw new Error(`could not lock ${dataDir}: another process keeps taking the lock`);
}
