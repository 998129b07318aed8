import { readFileSync } from 'node:fs';

/** Where a process's resident memory is, in KiB, from /proc/<pid>/smaps (Linux only). */
export interface SmapsBreakdown {
  /** Mapped files: node's code, shared libraries, ICU data. */
  fileKb: number;
  /** The brk heap: glibc's main malloc arena (jemalloc hardly uses it). */
  brkHeapKb: number;
  /** Every other anonymous mapping: V8's heap, malloc's other arenas or jemalloc's extents, thread stacks. */
  anonymousKb: number;
}

export function readSmaps(pid: number): SmapsBreakdown {
  const breakdown: SmapsBreakdown = { fileKb: 0, brkHeapKb: 0, anonymousKb: 0 };
  let kind: keyof SmapsBreakdown = 'anonymousKb';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (mapping) {
      const name = mapping[1] ?? '';
      kind = name.startsWith('/') ? 'fileKb' : name === '[heap]' ? 'brkHeapKb' : 'anonymousKb';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss) breakdown[kind] += Number(rss[1]);
  }
  return breakdown;
}

/** V8's heap as a pod's /metrics reports it (prom-client's default metrics), in KiB. */
export interface V8Heap {
  /** Committed to V8's heap spaces: nodejs_heap_size_total_bytes. */
  totalKb: number;
  /** Live objects and not yet collected garbage: nodejs_heap_size_used_bytes. */
  usedKb: number;
  /** Buffers and other memory V8 objects hold outside the heap: nodejs_external_memory_bytes. */
  externalKb: number;
}

export async function readV8Heap(podUrl: string): Promise<V8Heap | undefined> {
  try {
    const response = await fetch(`${podUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return undefined;
    const text = await response.text();
    const gauge = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 1024;
    return {
      totalKb: gauge('nodejs_heap_size_total_bytes'),
      usedKb: gauge('nodejs_heap_size_used_bytes'),
      externalKb: gauge('nodejs_external_memory_bytes'),
    };
  } catch {
    return undefined;
  }
}
