import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { podAllocator } from './malloc.ts';

/** The machine and code a run measured; figures only compare within the same environment. */
export interface EnvironmentInfo {
  node: string;
  platform: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  gitCommit: string;
  /** Tracked files differed from the commit. */
  gitDirty: boolean;
  /** 1-minute load average when the run began: well above 0, something else was competing for the cores. */
  loadAverage: number;
  /** The C allocator of the Parley pods and bare relays (`BENCH_POD_MALLOC`). */
  podMalloc: string;
}

export function environmentInfo(): EnvironmentInfo {
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    gitCommit: git('rev-parse', 'HEAD') ?? 'unknown',
    gitDirty: (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '',
    loadAverage: os.loadavg()[0] ?? Number.NaN,
    podMalloc: podAllocator.description,
  };
}

export function describeEnvironment(env: EnvironmentInfo): string {
  const commit = `${env.gitCommit.slice(0, 12)}${env.gitDirty ? ' (with uncommitted changes)' : ''}`;
  const machine = `${env.cpuModel} × ${env.cores} cores, ${env.memoryGiB} GiB, ${env.platform}`;
  return `Node ${env.node}, ${machine}, load average ${env.loadAverage.toFixed(2)} at the start, commit ${commit}, pods and relays on ${env.podMalloc}`;
}

function git(...args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}
