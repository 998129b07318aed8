import type { CpuMeter, CpuReport } from './process-cpu.ts';
import { readMemory, resetPeak, RssSampler, type MemoryReading, type SampledPeak } from './rss-sampler.ts';

/** Memory of one process over a window, in KiB. */
export interface WindowMemory {
  before: MemoryReading;
  peak: SampledPeak;
  /** Whether VmHWM was reset at the start (else `peak.hwmKb` is the peak since the process started). */
  peakWasReset: boolean;
}

export interface MeasuredWindow<T> {
  result: T;
  wallMs: number;
  cpu: CpuReport;
  memory: WindowMemory;
}

/**
 * Runs `work` as one measured window: CPU of every target of `meter`, and
 * the memory of process `pid` (VmHWM reset first, VmRSS sampled every
 * `sampleMs`). Read before the process ends: an exited process has no CPU to read.
 */
export async function measureWindow<T>(options: { meter: CpuMeter; pid: number; sampleMs?: number; work: () => Promise<T> }): Promise<MeasuredWindow<T>> {
  const before = readMemory(options.pid);
  const peakWasReset = resetPeak(options.pid);
  const sampler = RssSampler.start(options.pid, options.sampleMs ?? 50);
  const start = options.meter.snapshot();
  let result: T;
  try {
    result = await options.work();
  } catch (error) {
    sampler.stop();
    throw error;
  }
  const end = options.meter.snapshot();
  const peak = sampler.stop();
  return { result, wallMs: end.atMs - start.atMs, cpu: options.meter.report(start, end), memory: { before, peak, peakWasReset } };
}
