import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that the summary reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  /** Microseconds on the machine's monotonic clock (the one `process.hrtime` reads). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of time on the monotonic clock, in microseconds. */
export interface MonotonicWindow {
  fromUs: number;
  toUs: number;
}

/** Now on the monotonic clock shared by every process of the machine, in microseconds. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** The profiles `--cpu-prof --cpu-prof-dir=<directory>` left there. */
export async function readCpuProfiles(directory: string): Promise<CpuProfile[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.cpuprofile'));
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(path.join(directory, name), 'utf8')) as CpuProfile));
}

/**
 * Where the main thread's time went inside `windows`: the self time of the
 * sampled functions, in ms, grouped by what they belong to — an npm package,
 * Parley's own code, a part of Node, a native function by name, the garbage
 * collector, idle. Work on other threads (libvips, libuv's pool) is not sampled.
 */
export function selfTimeByOrigin(profiles: readonly CpuProfile[], windows: readonly MonotonicWindow[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const profile of profiles) {
    const originOf = new Map(profile.nodes.map((node) => [node.id, originOfFrame(node.callFrame)]));
    let at = profile.startTime;
    for (let index = 0; index < profile.samples.length; index += 1) {
      // A sample's delta is the time since the previous one: the time it stands for.
      const delta = profile.timeDeltas[index] ?? 0;
      at += delta;
      if (!windows.some((window) => at >= window.fromUs && at < window.toUs)) continue;
      const origin = originOf.get(profile.samples[index]!) ?? 'unknown';
      totals.set(origin, (totals.get(origin) ?? 0) + delta / 1000);
    }
  }
  return totals;
}

function originOfFrame({ functionName, url }: { functionName: string; url: string }): string {
  if (functionName === '(idle)') return 'idle (waiting for I/O or the thread pool)';
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)') return 'V8 and native code outside JS functions';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope = '', name = ''] = url.slice(modules + '/node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  if (/\/(services|packages)\/[^/]+\/src\//.test(url)) return 'Parley code';
  if (url.startsWith('node:')) return `node:${url.replace(/^node:(internal\/)?/, '').split('/')[0]}`;
  return url === '' ? `native ${functionName || '(anonymous)'}` : 'other';
}
