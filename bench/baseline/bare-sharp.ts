import { readFile } from 'node:fs/promises';
import { SharpImageProcessor } from '@parley/signaling';

// The baseline the media benchmark measures the thumbnail worker against:
// the worker's image processing alone. `SharpImageProcessor.process` — the
// very call the worker's thumbnail job makes: decode once to at most
// 1024 px, the 256 and 1024 px WebPs, the ThumbHash — on JPEGs read from
// disk into memory before the measurement. No S3, no database, no Redis,
// no BullMQ. Each image is handed over as a fresh copy of its bytes, as the
// worker gets fresh bytes from the store for every job.
//
// argv[2] is JSON: { inputs: string[] (JPEG paths), count, concurrency,
// threads (SHARP_THREADS), maxInputPixels (THUMBNAIL_MAX_PIXELS) }. It
// processes each input once (warm-up), prints {"msg":"ready"}, waits for
// SIGUSR1, then processes `count` images (image i is inputs[i mod n]) with
// `concurrency` at a time, prints {"msg":"done",…} and waits for SIGTERM, so
// that its CPU can still be read after the batch.

interface Settings {
  inputs: string[];
  count: number;
  concurrency: number;
  threads: number;
  maxInputPixels: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as Settings;
const inputs = await Promise.all(settings.inputs.map((file) => readFile(file)));
if (inputs.length === 0) {
  process.stderr.write('bare-sharp: no inputs\n');
  process.exit(2);
}
const processor = new SharpImageProcessor({ maxInputPixels: settings.maxInputPixels, threads: settings.threads });

async function thumbnail(index: number): Promise<void> {
  const image = await processor.process(Buffer.from(inputs[index % inputs.length]!));
  if (image.thumbnails.length === 0 || !image.placeholder) throw new Error('no thumbnails');
}

const print = (line: object) => new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(line)}\n`, () => resolve()));

for (let index = 0; index < inputs.length; index += 1) await thumbnail(index);
// Signal listeners do not keep a process alive: this timer does, until SIGTERM.
setInterval(() => {}, 60_000);
process.once('SIGTERM', () => process.exit(0));
process.once('SIGUSR1', () => {
  void run().then(print, (error: unknown) => print({ msg: 'failed', error: String(error) }));
});
await print({ msg: 'ready' });

async function run(): Promise<object> {
  const latenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < settings.count) {
      const index = next++;
      const start = performance.now();
      await thumbnail(index);
      latenciesMs.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, worker));
  return { msg: 'done', images: latenciesMs.length, wallMs: performance.now() - started, latenciesMs };
}
