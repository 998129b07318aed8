import { readFileSync, writeFileSync } from 'node:fs';

/** Resident memory of a process, in KiB, from /proc/<pid>/status (Linux only). */
export interface MemoryReading {
  /** VmRSS: resident now. */
  rssKb: number;
  /** VmHWM: the most ever resident (since start, or since `resetPeak`). */
  hwmKb: number;
}

// Synchronous on purpose: an async read waits for a libuv pool thread, and
// argon2 keeps those busy while the in-process baseline runs.
export function readMemory(pid: number): MemoryReading {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKb: field(status, 'VmRSS'), hwmKb: field(status, 'VmHWM') };
}

/** Lowers VmHWM to the current RSS (Linux ≥ 4.0, own processes); false when the kernel refuses. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface SampledPeak {
  /** The largest VmRSS seen by the sampler. */
  maxRssKb: number;
  /** VmHWM when sampling stopped: catches peaks between samples. */
  hwmKb: number;
  samples: number;
}

/** Reads a process's VmRSS every `intervalMs` until stopped. */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #maxRssKb = 0;
  #samples = 0;

  private constructor(pid: number, intervalMs: number) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  static start(pid: number, intervalMs = 50): RssSampler {
    return new RssSampler(pid, intervalMs);
  }

  stop(): SampledPeak {
    clearInterval(this.#timer);
    const last = this.#sample();
    return { maxRssKb: this.#maxRssKb, hwmKb: last?.hwmKb ?? Number.NaN, samples: this.#samples };
  }

  #sample(): MemoryReading | undefined {
    try {
      const reading = readMemory(this.#pid);
      this.#maxRssKb = Math.max(this.#maxRssKb, reading.rssKb);
      this.#samples += 1;
      return reading;
    } catch {
      return undefined; // the process has exited
    }
  }
}

function field(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`/proc status has no ${name}`);
  return Number(match[1]);
}
