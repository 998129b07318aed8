import { existsSync } from 'node:fs';

/**
 * The C allocator a bench process runs on. The Docker image preloads jemalloc
 * into every process (Dockerfile: LD_PRELOAD), so the bench does the same when
 * Debian's libjemalloc2 is installed (`apt-get install libjemalloc2`); an
 * environment variable set to `glibc` measures on glibc's malloc instead.
 */
export interface Allocator {
  name: 'jemalloc' | 'glibc';
  /** Environment for the child process: LD_PRELOAD for jemalloc, nothing for glibc. */
  env: Record<string, string>;
  /** For report headers, e.g. "jemalloc (/usr/lib/x86_64-linux-gnu/libjemalloc.so.2)". */
  description: string;
}

/** glibc's malloc: no preload (a preload inherited from the bench's environment is cleared). */
export const glibcAllocator: Allocator = { name: 'glibc', env: { LD_PRELOAD: '' }, description: 'glibc malloc' };

const jemallocLibrary = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libjemalloc.so.2`;

/**
 * The allocator chosen by the environment variable `variable` (`jemalloc`, the
 * default, or `glibc`). jemalloc asked for but not installed falls back to
 * glibc, and the description says so.
 */
export function chosenAllocator(variable: string): Allocator {
  const choice = process.env[variable] ?? 'jemalloc';
  if (choice !== 'jemalloc' && choice !== 'glibc') throw new Error(`${variable} must be jemalloc or glibc`);
  if (choice === 'glibc') return { ...glibcAllocator, description: `glibc malloc (${variable}=glibc)` };
  if (!existsSync(jemallocLibrary)) {
    return { ...glibcAllocator, description: `glibc malloc (libjemalloc2 is not installed: ${jemallocLibrary})` };
  }
  return { name: 'jemalloc', env: { LD_PRELOAD: jemallocLibrary }, description: `jemalloc (${jemallocLibrary})` };
}

/** The allocator of the bench's Parley pods and of the bare relays they are compared with: `BENCH_POD_MALLOC`. */
export const podAllocator: Allocator = chosenAllocator('BENCH_POD_MALLOC');
