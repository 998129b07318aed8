/**
 * Milliseconds since the epoch with sub-millisecond resolution. The load
 * generator and the servers share the machine's clock, so a send time written
 * into a message can be compared with the time it is received.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A chat text of exactly `bytes` ASCII bytes that starts with its send time: `<ms>|xxxx…`. */
export function stampedText(sentAtMs: number, bytes: number): string {
  return `${sentAtMs.toFixed(3)}|`.padEnd(bytes, 'x');
}

/** The send time written by `stampedText`; NaN when the text carries none. */
export function sentAtOf(text: unknown): number {
  if (typeof text !== 'string') return Number.NaN;
  const bar = text.indexOf('|');
  return bar > 0 ? Number(text.slice(0, bar)) : Number.NaN;
}

/** Resolves after `ms`, or rejects at once with the signal's reason when it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
