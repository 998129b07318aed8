import { finished, type Readable } from 'node:stream';
import sharp, { type Raw, type ResizeOptions, type Sharp, type SharpOptions } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { ImageRejected, THUMBNAIL_SIZES, type ImageProcessor, type ProcessedImage } from '../../domain/media/image-processor.ts';

export interface SharpImageProcessorOptions {
  /** Width × height above which an image is refused from its header, before any pixel is decoded. */
  maxInputPixels: number;
  /** libvips worker threads per image (process-wide in sharp). */
  threads: number;
}

/**
 * The only loaders libvips may run, by operation class: JPEG, PNG (and
 * APNG's first frame), WebP, GIF and HEIF (AVIF; the bundled libheif decodes
 * AV1 only). Everything else sharp's libvips can read (SVG through librsvg,
 * TIFF, and the rest) is refused as an unsupported format before its parser
 * sees a byte. libvips ignores names it does not know, so each loader here
 * is covered by a test.
 */
const ALLOWED_LOADERS = ['VipsForeignLoadJpeg', 'VipsForeignLoadPng', 'VipsForeignLoadWebp', 'VipsForeignLoadNsgif', 'VipsForeignLoadHeif'];

const LARGEST_THUMBNAIL = Math.max(...THUMBNAIL_SIZES);
/** ThumbHash takes at most 100 × 100 pixels. */
const PLACEHOLDER_SIZE = 100;
const INSIDE: ResizeOptions = { fit: 'inside', withoutEnlargement: true };
/**
 * AVIF is decoded whole, at about 18 bytes a pixel (JPEG and WebP shrink while
 * decoding): its pixels are capped lower, so one image stays under ~300 MB.
 */
const MAX_HEIF_PIXELS = 16_000_000;
/** A pathological image that decodes this slowly is refused rather than holding a worker. */
const DECODE_TIMEOUT_SECONDS = 30;

/**
 * Thumbnails, dimensions and a ThumbHash placeholder with sharp. The source
 * is decoded once, straight to at most 1024 × 1024 (JPEG and WebP shrink while
 * decoding), into raw pixels every output is made from: a 12-MP photo never
 * exists in memory at full size, and the decoded pixels carry no metadata.
 *
 * Construction sets two of sharp's process-wide settings: its thread count
 * and the allow-list of loaders. sharp is used nowhere else in a process.
 */
export class SharpImageProcessor implements ImageProcessor {
  readonly #input: SharpOptions;
  readonly #maxHeifPixels: number;

  constructor(options: SharpImageProcessorOptions) {
    this.#maxHeifPixels = Math.min(options.maxInputPixels, MAX_HEIF_PIXELS);
    sharp.concurrency(options.threads);
    sharp.block({ operation: ['VipsForeignLoad'] });
    sharp.unblock({ operation: ALLOWED_LOADERS });
    this.#input = {
      limitInputPixels: options.maxInputPixels,
      // 'error' refuses truncated and undecodable data. 'warning' would also
      // refuse the recoverable oddities of real cameras ("extraneous bytes
      // before marker", Samsung's "invalid SOS parameters") that browsers show.
      failOn: 'error',
      autoOrient: true,
      pages: 1,
    };
  }

  async process(input: Readable | Buffer): Promise<ProcessedImage> {
    if (Buffer.isBuffer(input)) {
      // sharp throws at once for an empty buffer, from its constructor.
      if (input.length === 0) throw new ImageRejected('not_an_image', 'The file is empty');
      return this.#process(sharp(input, this.#input));
    }
    const source = sharp(this.#input);
    // sharp gathers a streamed input into one buffer before decoding; a
    // failed or aborted input would leave it waiting for the end forever.
    const inputFailed = new Promise<never>((_resolve, reject) => {
      const fail = (error: Error) => {
        input.destroy();
        source.destroy();
        reject(error);
      };
      finished(input, { writable: false }, (error) => {
        if (error) fail(error);
      });
      source.once('error', fail);
    });
    input.pipe(source);
    return Promise.race([this.#process(source), inputFailed]);
  }

  async #process(source: Sharp): Promise<ProcessedImage> {
    const header = await source.metadata().catch(refuse);
    if (header.format === 'heif' && (header.width ?? 0) * (header.height ?? 0) > this.#maxHeifPixels) {
      throw new ImageRejected('too_many_pixels', `An AVIF image may have at most ${this.#maxHeifPixels} pixels`);
    }
    const { data, info } = await source
      .timeout({ seconds: DECODE_TIMEOUT_SECONDS })
      .resize(LARGEST_THUMBNAIL, LARGEST_THUMBNAIL, INSIDE)
      .raw()
      .toBuffer({ resolveWithObject: true })
      .catch(refuse);
    const decoded = { data, raw: { width: info.width, height: info.height, channels: info.channels } };
    const [thumbnails, placeholder] = await Promise.all([
      Promise.all(THUMBNAIL_SIZES.map(async (size) => ({ size, data: await webp(decoded, size) }))),
      thumbHashOf(decoded),
    ]);
    return { width: header.autoOrient.width, height: header.autoOrient.height, placeholder, thumbnails };
  }
}

interface Decoded {
  data: Buffer;
  raw: Raw;
}

/** Encodes raw pixels, which carry no metadata: the WebP has no EXIF, XMP, IPTC or ICC profile. */
const webp = ({ data, raw }: Decoded, size: number) => sharp(data, { raw }).resize(size, size, INSIDE).webp().toBuffer();

async function thumbHashOf({ data, raw }: Decoded): Promise<string> {
  const small = await sharp(data, { raw })
    .resize(PLACEHOLDER_SIZE, PLACEHOLDER_SIZE, INSIDE)
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (small.info.channels !== 4) throw new Error(`Expected RGBA pixels for the placeholder, got ${small.info.channels} channels`);
  return Buffer.from(rgbaToThumbHash(small.info.width, small.info.height, small.data)).toString('base64');
}

/**
 * A decoding failure as the rejection it is. Only running out of memory is
 * no fault of the image: it is rethrown as it came, for the job to retry.
 */
function refuse(error: unknown): never {
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  if (/out of memory/i.test(message)) throw error;
  if (message.includes('exceeds pixel limit')) throw new ImageRejected('too_many_pixels', message);
  if (/Input buffer is empty|unsupported image format/i.test(message)) throw new ImageRejected('not_an_image', message);
  throw new ImageRejected('corrupt_image', message);
}
