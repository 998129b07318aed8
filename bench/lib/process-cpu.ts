import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Kernel clock ticks per second, the unit of /proc CPU times (100 on nearly every Linux). */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
const MS_PER_TICK = 1000 / TICKS_PER_SECOND;

/** One process's fields from /proc/<pid>/stat (Linux only); undefined once it has exited. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime: CPU this process (all its threads) used, in ms. */
  cpuMs: number;
  /** cutime + cstime: CPU of children it has waited for, in ms. */
  reapedChildrenCpuMs: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const tick = (index: number) => Number(fields[index]) * MS_PER_TICK;
  return { pid, ppid: Number(fields[1]), cpuMs: tick(11) + tick(12), reapedChildrenCpuMs: tick(13) + tick(14) };
}

/** Every live pid with its command line split on NUL. */
export function listProcesses(): Array<{ pid: number; argv: string[] }> {
  const processes: Array<{ pid: number; argv: string[] }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      processes.push({ pid: Number(entry), argv });
    } catch {
      // exited while listing
    }
  }
  return processes;
}

/** Busy and total CPU time of the whole machine since boot, in ms summed over all cores (/proc/stat). */
export function readMachineCpu(): { busyMs: number; totalMs: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = values;
  const busy = user + nice + system + irq + softirq + steal;
  return { busyMs: busy * MS_PER_TICK, totalMs: (busy + idle + iowait) * MS_PER_TICK };
}

/** A process, or a group of them (Postgres: the postmaster and its backends), whose CPU is measured. */
export interface CpuTarget {
  name: string;
  role: 'pod' | 'relay' | 'worker' | 'baseline' | 'object store' | 'postgres' | 'redis' | 'load generator';
  /** CPU ms so far; undefined when the process cannot be found (for instance an external Postgres). */
  readCpuMs(): number | undefined;
}

export function processTarget(name: string, role: CpuTarget['role'], pid: number): CpuTarget {
  return { name, role, readCpuMs: () => readProcStat(pid)?.cpuMs };
}

/**
 * A process and its children: their own CPU plus what exited children left in
 * the parent's cutime/cstime, so a backend that ends between two readings is
 * still counted once.
 */
export function processTreeTarget(name: string, role: CpuTarget['role'], findRoot: () => number | undefined): CpuTarget {
  return {
    name,
    role,
    readCpuMs: () => {
      const rootPid = findRoot();
      const root = rootPid === undefined ? undefined : readProcStat(rootPid);
      if (!root) return undefined;
      let total = root.cpuMs + root.reapedChildrenCpuMs;
      for (const { pid } of listProcesses()) {
        const stat = pid === root.pid ? undefined : readProcStat(pid);
        if (stat?.ppid === root.pid) total += stat.cpuMs;
      }
      return total;
    },
  };
}

/** This process: the load generator, unless it forks workers. */
export function selfTarget(): CpuTarget {
  return { name: 'load generator (bench process)', role: 'load generator', readCpuMs: () => readProcStat(process.pid)?.cpuMs };
}

export interface CpuSnapshot {
  atMs: number;
  machine: { busyMs: number; totalMs: number };
  byTarget: Array<number | undefined>;
}

/** CPU over a window: per target (ms and % of one core) and the whole machine (% of all cores busy). */
export interface CpuReport {
  wallMs: number;
  cores: number;
  /** Busy share of all cores together: 100 means every core was busy the whole window. */
  machineBusyPercent: number;
  /** CPU of everything else on the machine (other processes, the kernel), in % of one core: busy minus the targets. */
  otherPercentOfCore: number;
  targets: Array<{ name: string; role: CpuTarget['role']; cpuMs: number; percentOfCore: number }>;
}

/** Reads the CPU of a fixed set of targets; two snapshots make a report. */
export class CpuMeter {
  readonly #targets: readonly CpuTarget[];

  constructor(targets: readonly CpuTarget[]) {
    this.#targets = targets;
  }

  snapshot(): CpuSnapshot {
    return {
      atMs: performance.now(),
      machine: readMachineCpu(),
      byTarget: this.#targets.map((target) => target.readCpuMs()),
    };
  }

  report(before: CpuSnapshot, after: CpuSnapshot): CpuReport {
    const wallMs = after.atMs - before.atMs;
    const machineTotal = after.machine.totalMs - before.machine.totalMs;
    const cores = os.availableParallelism();
    const machineBusyPercent = machineTotal > 0 ? ((after.machine.busyMs - before.machine.busyMs) / machineTotal) * 100 : Number.NaN;
    const targets = this.#targets.map((target, index) => {
      const start = before.byTarget[index];
      const end = after.byTarget[index];
      const cpuMs = start === undefined || end === undefined ? Number.NaN : end - start;
      return { name: target.name, role: target.role, cpuMs, percentOfCore: (cpuMs / wallMs) * 100 };
    });
    const measured = targets.reduce((sum, target) => sum + (Number.isFinite(target.percentOfCore) ? target.percentOfCore : 0), 0);
    return { wallMs, cores, machineBusyPercent, otherPercentOfCore: Math.max(0, machineBusyPercent * cores - measured), targets };
  }
}

/** CPU ms of the targets with this role, summed (NaN when one was not measured). */
export function cpuOfRole(report: CpuReport, role: CpuTarget['role']): number {
  return report.targets.filter((target) => target.role === role).reduce((sum, target) => sum + target.cpuMs, 0);
}
