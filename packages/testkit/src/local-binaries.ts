import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The directory holding `initdb` and `postgres`: `PG_BIN_DIR`, else Debian's newest versioned folder, else `pg_config --bindir`. */
export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  if (env.PG_BIN_DIR) candidates.push(env.PG_BIN_DIR);
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => path.join(debianRoot, version, 'bin')));
  }
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // pg_config is not installed; the other candidates remain.
  }
  const found = candidates.find((dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres')));
  if (!found) {
    throw new Error(
      'No PostgreSQL server binaries found (looked in PG_BIN_DIR, /usr/lib/postgresql/*/bin, pg_config --bindir). ' +
        'Install the postgresql package or set DATABASE_URL.',
    );
  }
  return found;
}

/** Finds an executable on PATH. */
export function which(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Postgres refuses to run as root. When we are root, the server runs as the
 * `postgres` system account (Debian's package creates it); otherwise as us.
 */
export function postgresProcessUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'postgres');
  if (!entry) throw new Error('Running as root and there is no "postgres" user to run a private PostgreSQL server as.');
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}
