// Preloaded into a bench pod (`node --expose-gc --import <this file> main.ts`)
// by the idle scenario's diagnostic row, never by the image: on SIGUSR2 the
// pod runs one memory-reducing full GC (V8's "last resort" collection, the one
// its memory reducer would run once the heap is idle) and logs how long the
// pause took, so the report can show how much of the RSS kept after a
// connection storm is reclaimable.

type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

const gc = (globalThis as { gc?: GcFunction }).gc;
if (!gc) throw new Error('memory-reducing-gc.preload.ts needs node --expose-gc');

process.on('SIGUSR2', () => {
  const started = performance.now();
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  process.stdout.write(`${JSON.stringify({ level: 30, msg: 'memory-reducing gc', pauseMs: performance.now() - started })}\n`);
});
