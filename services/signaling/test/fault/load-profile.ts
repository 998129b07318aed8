import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { descendantsOf } from '@parley/testkit';

/** Where the CPU went while something ran: to tell what limited it. */
export interface LoadFigures {
  /** CPU ms per named process (with its children where asked: Postgres works in backends). */
  cpuMs: Record<string, number>;
  /** The machine's busy share (0-100), every process and user included. */
  machineBusyPct: number | null;
  /** Event-loop delay of this (the test) process, in ms. */
  testsEventLoopDelayMs: { p50: number; p99: number; max: number };
}

/** Per process tree: CPU ms of each pid. */
type CpuReading = Map<string, Map<number, number>>;

/**
 * Measures from `start` to `finish`, on Linux (/proc): CPU per process, the
 * machine's load, and this process's event-loop delay.
 */
export class LoadProfile {
  readonly #processes: () => Record<string, number | undefined>;
  readonly #withChildren: string[];
  readonly #cpuBefore: CpuReading;
  readonly #machineBefore: MachineCpu | undefined;
  readonly #eventLoop: ReturnType<typeof monitorEventLoopDelay>;
  #figures: LoadFigures | undefined;

  private constructor(processes: () => Record<string, number | undefined>, withChildren: string[]) {
    this.#processes = processes;
    this.#withChildren = withChildren;
    this.#cpuBefore = readCpu(processes(), withChildren);
    this.#machineBefore = readMachineCpu();
    this.#eventLoop = monitorEventLoopDelay({ resolution: 20 });
    this.#eventLoop.enable();
  }

  /** `processes` names the pids to follow (read again at `finish`: a process may have restarted). */
  static start(processes: () => Record<string, number | undefined>, options: { withChildren?: string[] } = {}): LoadProfile {
    return new LoadProfile(processes, options.withChildren ?? []);
  }

  /** The figures from `start` until the first call. */
  finish(): LoadFigures {
    if (this.#figures) return this.#figures;
    this.#eventLoop.disable();
    const cpuAfter = readCpu(this.#processes(), this.#withChildren);
    const cpuMs: Record<string, number> = {};
    for (const [name, perPid] of cpuAfter) {
      const before = this.#cpuBefore.get(name) ?? new Map<number, number>();
      // A process born meanwhile counts from zero.
      cpuMs[name] = [...perPid].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);
    }
    const machineAfter = readMachineCpu();
    const before = this.#machineBefore;
    this.#figures = {
      cpuMs,
      machineBusyPct:
        before && machineAfter && machineAfter.total > before.total
          ? Math.round((100 * (machineAfter.busy - before.busy)) / (machineAfter.total - before.total))
          : null,
      testsEventLoopDelayMs: {
        p50: Math.round(this.#eventLoop.percentile(50) / 1e6),
        p99: Math.round(this.#eventLoop.percentile(99) / 1e6),
        max: Math.round(this.#eventLoop.max / 1e6),
      },
    };
    return this.#figures;
  }
}

function readCpu(roots: Record<string, number | undefined>, withChildren: string[]): CpuReading {
  const reading: CpuReading = new Map();
  for (const [name, root] of Object.entries(roots)) {
    const perPid = new Map<number, number>();
    if (root !== undefined) {
      for (const pid of [root, ...(withChildren.includes(name) ? descendantsOf(root) : [])]) {
        const ms = processCpuMs(pid);
        if (ms !== undefined) perPid.set(pid, ms);
      }
    }
    reading.set(name, perPid);
  }
  return reading;
}

/** CPU time (user + system) a process has used so far, in ms. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // stat's fields 14 and 15 (utime, stime), in clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

interface MachineCpu {
  busy: number;
  total: number;
}

/** All cores' counters, in clock ticks. */
function readMachineCpu(): MachineCpu | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    // The 4th and 5th are idle and iowait.
    return { busy: total - fields[3]! - fields[4]!, total };
  } catch {
    return undefined;
  }
}
