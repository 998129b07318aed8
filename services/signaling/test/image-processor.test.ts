import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import sharp, { type Metadata } from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToAverageRGBA, thumbHashToRGBA } from 'thumbhash';
import { beforeAll, describe, expect, it } from 'vitest';
import { SharpImageProcessor } from '../src/adapters/sharp/image-processor.ts';
import { ImageRejected, type ImageRejection, type ProcessedImage } from '../src/domain/media/image-processor.ts';
import { recordFigures } from './support/figures.ts';
import { animation, GREEN, noiseBytes, orientedJpeg, photo, pngDeclaring, RED, solid, truncated } from './support/images.ts';

const MAX_PIXELS = 100_000_000;
const processor = new SharpImageProcessor({ maxInputPixels: MAX_PIXELS, threads: 1 });

/** The input streamed in chunks, as a blob store hands it over. */
function streamOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += chunkSize) chunks.push(data.subarray(offset, offset + chunkSize));
  return Readable.from(chunks, { objectMode: false });
}

async function reasonOf(processing: Promise<unknown>): Promise<ImageRejection> {
  const error = await processing.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ImageRejected)) throw new Error(`Expected an ImageRejected, got ${String(error)}`);
  return error.reason;
}

const thumbnail = (image: ProcessedImage, size: 256 | 1024) => {
  const found = image.thumbnails.find((entry) => entry.size === size);
  if (!found) throw new Error(`No ${size} thumbnail`);
  return found.data;
};

const sizeOf = async (data: Buffer) => {
  const { width, height } = await sharp(data).metadata();
  return [width, height];
};

/** The colour of the pixel at (x, y), named by its strongest channel. */
async function colourAt(data: Buffer, x: number, y: number): Promise<string> {
  const { data: pixels, info } = await sharp(data).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  const [r = 0, g = 0, b = 0] = pixels.subarray(at, at + 3);
  if (r > 200 && g < 60 && b < 60) return 'red';
  if (g > 200 && r < 60 && b < 60) return 'green';
  if (b > 200 && r < 60 && g < 60) return 'blue';
  return `rgb(${r}, ${g}, ${b})`;
}

/** Whatever a viewer could learn besides the pixels. */
const metadataOf = (meta: Metadata) => ({ exif: meta.exif, xmp: meta.xmp, iptc: meta.iptc, icc: meta.icc, orientation: meta.orientation });
const NO_METADATA = { exif: undefined, xmp: undefined, iptc: undefined, icc: undefined, orientation: undefined };

describe('SharpImageProcessor', () => {
  describe('sizes', () => {
    it.each<[string, number, number, number[], number[]]>([
      ['landscape', 3000, 2000, [256, 171], [1024, 683]],
      ['portrait', 2000, 3000, [171, 256], [683, 1024]],
      ['square between the sizes: the large one is not enlarged', 500, 500, [256, 256], [500, 500]],
      ['smaller than both: never enlarged', 100, 50, [100, 50], [100, 50]],
      ['one pixel', 1, 1, [1, 1], [1, 1]],
      ['a thin strip keeps at least a pixel', 5000, 10, [256, 1], [1024, 2]],
    ])('%s (%i × %i)', async (_label, width, height, small, large) => {
      const image = await processor.process(await sharp(solid(width, height, GREEN)).png().toBuffer());
      expect([image.width, image.height]).toEqual([width, height]);
      expect(image.thumbnails.map((entry) => entry.size)).toEqual([256, 1024]);
      expect(await sizeOf(thumbnail(image, 256))).toEqual(small);
      expect(await sizeOf(thumbnail(image, 1024))).toEqual(large);
    });

    it('a 12-megapixel photo', async () => {
      const image = await processor.process(await photo(4000, 3000));
      expect([image.width, image.height]).toEqual([4000, 3000]);
      expect(await sizeOf(thumbnail(image, 256))).toEqual([256, 192]);
      expect(await sizeOf(thumbnail(image, 1024))).toEqual([1024, 768]);
    });
  });

  describe('a phone photo turned sideways, with GPS, an ICC profile and XMP', () => {
    let input: Buffer;
    let image: ProcessedImage;

    beforeAll(async () => {
      input = await orientedJpeg();
      image = await processor.process(input);
    });

    it('carries all of that before processing', async () => {
      const meta = await sharp(input).metadata();
      expect([meta.width, meta.height, meta.orientation]).toEqual([400, 200, 6]);
      // The EXIF holds a GPS IFD: its pointer tag 0x8825, in either byte order.
      const exif = meta.exif ?? Buffer.alloc(0);
      expect(exif.includes(Buffer.from([0x88, 0x25])) || exif.includes(Buffer.from([0x25, 0x88]))).toBe(true);
      expect(meta.icc).toBeDefined();
      expect(meta.xmp).toBeDefined();
    });

    it('reports the dimensions as shown: turned', () => {
      expect([image.width, image.height]).toEqual([200, 400]);
    });

    it('turns the pixels: what was on the left is on top', async () => {
      const small = thumbnail(image, 256);
      expect(await sizeOf(small)).toEqual([128, 256]);
      expect(await colourAt(small, 64, 16)).toBe('blue');
      expect(await colourAt(small, 64, 240)).toBe('red');
      expect(await sizeOf(thumbnail(image, 1024))).toEqual([200, 400]);
    });

    it('keeps no metadata in either thumbnail', async () => {
      for (const { data } of image.thumbnails) {
        const meta = await sharp(data).metadata();
        expect(meta.format).toBe('webp');
        expect(metadataOf(meta)).toEqual(NO_METADATA);
      }
    });

    it('makes a portrait placeholder', () => {
      expect(thumbHashToApproximateAspectRatio(Buffer.from(image.placeholder, 'base64'))).toBeLessThan(1);
    });
  });

  describe('animations give their first frame', () => {
    it.each(['gif', 'webp'] as const)('%s of three frames', async (format) => {
      const input = await animation(format);
      expect((await sharp(input).metadata()).pages).toBe(3);
      const image = await processor.process(input);
      expect([image.width, image.height]).toEqual([60, 40]);
      for (const { data } of image.thumbnails) {
        const meta = await sharp(data).metadata();
        expect(meta.pages ?? 1).toBe(1);
        expect([meta.width, meta.height]).toEqual([60, 40]);
        expect(await colourAt(data, 30, 20)).toBe('red');
      }
    });
  });

  describe('formats', () => {
    it.each([
      ['JPEG', () => sharp(solid(64, 48, RED)).jpeg().toBuffer()],
      ['PNG', () => sharp(solid(64, 48, RED)).png().toBuffer()],
      ['WebP', () => sharp(solid(64, 48, RED)).webp().toBuffer()],
      ['GIF', () => sharp(solid(64, 48, RED)).gif().toBuffer()],
      ['AVIF', () => sharp(solid(64, 48, RED)).avif().toBuffer()],
      ['greyscale PNG', () => sharp(solid(64, 48, '#ff0000')).toColourspace('b-w').png().toBuffer()],
      ['16-bit PNG', () => sharp(solid(64, 48, RED)).toColourspace('rgb16').png().toBuffer()],
    ])('%s is read', async (_format, make) => {
      const image = await processor.process(await make());
      expect([image.width, image.height]).toEqual([64, 48]);
      expect(await sizeOf(thumbnail(image, 256))).toEqual([64, 48]);
    });

    it('keeps transparency', async () => {
      const input = await sharp(solid(64, 48, 'rgba(255, 0, 0, 0.25)', 4)).png().toBuffer();
      const image = await processor.process(input);
      expect((await sharp(thumbnail(image, 256)).metadata()).hasAlpha).toBe(true);
      expect(thumbHashToAverageRGBA(Buffer.from(image.placeholder, 'base64')).a).toBeLessThan(0.5);
    });
  });

  describe('the placeholder', () => {
    it('decodes to a small image of the same colour and shape', async () => {
      const image = await processor.process(await sharp(solid(3000, 1500, RED)).png().toBuffer());
      const hash = Buffer.from(image.placeholder, 'base64');
      expect(hash.length).toBeLessThanOrEqual(25);
      const decoded = thumbHashToRGBA(hash);
      expect(Math.max(decoded.w, decoded.h)).toBeLessThanOrEqual(32);
      expect(decoded.w).toBeGreaterThan(decoded.h);
      expect(thumbHashToApproximateAspectRatio(hash)).toBeCloseTo(2, 0);
      const average = thumbHashToAverageRGBA(hash);
      expect(average.r).toBeGreaterThan(0.9);
      expect(average.g).toBeLessThan(0.1);
      expect(average.b).toBeLessThan(0.1);
    });
  });

  describe('refusals', () => {
    it('refuses a decompression bomb from its header, without decoding it', async () => {
      const bomb = pngDeclaring(50_000, 50_000);
      expect(bomb.length).toBeLessThan(200);
      const before = process.memoryUsage().rss;
      expect(await reasonOf(processor.process(bomb))).toBe('too_many_pixels');
      expect(await reasonOf(processor.process(streamOf(bomb)))).toBe('too_many_pixels');
      // Decoded, it would be 7.5 GB of pixels.
      expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
    });

    it('applies its own pixel limit', async () => {
      const strict = new SharpImageProcessor({ maxInputPixels: 1_000_000, threads: 1 });
      expect(await reasonOf(strict.process(await sharp(solid(1001, 1000, RED)).png().toBuffer()))).toBe('too_many_pixels');
      await expect(strict.process(await sharp(solid(1000, 1000, RED)).png().toBuffer())).resolves.toMatchObject({ width: 1000, height: 1000 });
    });

    it.each<[string, () => Promise<Buffer> | Buffer, ImageRejection]>([
      ['zero bytes', () => Buffer.alloc(0), 'not_an_image'],
      ['random bytes', () => noiseBytes(64 * 1024), 'not_an_image'],
      ['text', () => Buffer.from('just some words, not a picture'), 'not_an_image'],
      ['SVG with a script', () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><script>alert(1)</script><rect width="100" height="100"/></svg>'), 'not_an_image'],
      ['TIFF (a loader that is blocked)', () => sharp(solid(64, 48, RED)).tiff().toBuffer(), 'not_an_image'],
      ['a truncated JPEG', async () => truncated(await photo(800, 600)), 'corrupt_image'],
      ['a truncated progressive JPEG', async () => truncated(await sharp(await photo(800, 600)).jpeg({ progressive: true }).toBuffer()), 'corrupt_image'],
      ['a truncated PNG', async () => truncated(await sharp(await photo(800, 600)).png().toBuffer()), 'corrupt_image'],
      ['a truncated GIF', async () => truncated(await sharp(await photo(200, 150)).gif().toBuffer()), 'corrupt_image'],
      ['a truncated WebP', async () => truncated(await sharp(await photo(800, 600)).webp().toBuffer()), 'corrupt_image'],
      ['a JPEG header alone', async () => (await photo(800, 600)).subarray(0, 600), 'corrupt_image'],
    ])('%s', async (_label, make, reason) => {
      expect(await reasonOf(processor.process(await make()))).toBe(reason);
    });

    it('still reads a JPEG with an oddity cameras produce and browsers show (extraneous bytes before a marker)', async () => {
      const jpeg = await photo(800, 600);
      const scan = jpeg.indexOf(Buffer.from([0xff, 0xda]));
      const odd = Buffer.concat([jpeg.subarray(0, scan), Buffer.from([1, 2, 3, 4]), jpeg.subarray(scan)]);
      await expect(processor.process(odd)).resolves.toMatchObject({ width: 800, height: 600 });
    });
  });

  describe('streamed input', () => {
    it('gives what the same bytes give as a buffer', async () => {
      const input = await orientedJpeg();
      const fromBuffer = await processor.process(input);
      const fromStream = await processor.process(streamOf(input, 1000));
      expect(fromStream).toEqual(fromBuffer);
    });

    it('refuses an empty stream as no image', async () => {
      expect(await reasonOf(processor.process(Readable.from([], { objectMode: false })))).toBe('not_an_image');
    });

    it('fails with the stream’s own error when it breaks: a retry may succeed', async () => {
      const jpeg = await photo(800, 600);
      const broken = new Readable({
        read() {
          this.push(jpeg.subarray(0, 1000));
          this.destroy(new Error('connection reset'));
        },
      });
      const error = await processor.process(broken).catch((caught: unknown) => caught);
      expect(error).not.toBeInstanceOf(ImageRejected);
      expect(error).toMatchObject({ message: 'connection reset' });
    });

    it('fails, rather than waiting forever, when the stream is closed before its end', async () => {
      const cut = new Readable({
        read() {
          this.push(Buffer.alloc(100));
          this.destroy();
        },
      });
      const error = await processor.process(cut).catch((caught: unknown) => caught);
      expect(error).not.toBeInstanceOf(ImageRejected);
      expect(error).toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    });
  });

  describe('cost', () => {
    it('measures time per image and the memory of ten 12-megapixel photos, two at a time', { timeout: 120_000 }, async () => {
      const oneMega = await photo(1200, 850);
      const twelveMega = await photo(4000, 3000);
      const timed = async (input: Buffer) => {
        const samples: number[] = [];
        for (let run = 0; run < 5; run++) {
          const started = performance.now();
          await processor.process(input);
          samples.push(performance.now() - started);
        }
        samples.sort((a, b) => a - b);
        return { medianMs: Math.round(samples[2] ?? 0), minMs: Math.round(samples[0] ?? 0), maxMs: Math.round(samples[4] ?? 0) };
      };
      const bombStarted = performance.now();
      await processor.process(pngDeclaring(50_000, 50_000)).catch(() => undefined);
      const bombRefusalMs = Math.round((performance.now() - bombStarted) * 10) / 10;
      const oneMp = await timed(oneMega);
      const twelveMp = await timed(twelveMega);

      const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const limit = pLimit(2);
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 10 }, () => limit(() => processor.process(twelveMega))));
      const elapsedMs = Math.round(performance.now() - started);
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);

      expect(results.every((image) => image.width === 4000 && image.height === 3000)).toBe(true);
      recordFigures('node', 'image-processor', {
        inputBytes: { oneMp: oneMega.length, twelveMp: twelveMega.length },
        processMs: { oneMp, twelveMp, bombRefusalMs },
        tenTwelveMpTwoAtATime: { elapsedMs, rssBaselineMiB: mib(baseline), rssPeakMiB: mib(peak), rssGrowthMiB: mib(peak - baseline) },
        sharp: { concurrency: sharp.concurrency(), cache: sharp.cache() },
      });
    });
  });
});
