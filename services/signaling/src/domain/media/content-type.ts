import { limits } from '@parley/protocol';
import { fileTypeFromBuffer } from 'file-type';

/**
 * How many leading bytes of an upload are read to tell its type: file-type's
 * `reasonableDetectionSizeInBytes`, enough for every format it knows.
 */
export const SNIFF_BYTES = 4100;

const OCTET_STREAM = 'application/octet-stream';

/**
 * Raster images sharp decodes with its bundled libraries and every browser
 * renders as an `<img>`: thumbnailed and served inline. Not TIFF (browsers
 * other than Safari do not show it, and libtiff's many codecs are a large
 * surface for one more preview), not HEIC (the bundled libheif decodes AV1
 * only), never SVG (a document that can run script).
 */
const RASTER_IMAGES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/apng', 'image/gif', 'image/webp', 'image/avif']);

/**
 * Types recorded as sniffed, so that clients can show a fitting icon or
 * player; each is served as an attachment unless it is a raster image.
 * Anything else file-type recognises (executables, XML, Flash, WebAssembly,
 * archives of code) is stored as `application/octet-stream`.
 */
const LABELLED: ReadonlySet<string> = new Set([
  ...RASTER_IMAGES,
  'image/heic',
  'image/heif',
  'image/tiff',
  'image/bmp',
  'image/jxl',
  'video/mp4',
  'video/webm',
  'video/quicktime',
  'video/matroska',
  'audio/mpeg',
  'audio/mp4',
  'audio/x-m4a',
  'audio/aac',
  'audio/ogg',
  'audio/ogg; codecs=opus',
  'audio/wav',
  'audio/flac',
  'application/pdf',
  'application/zip',
  'application/gzip',
  'application/x-tar',
  'application/x-7z-compressed',
  'application/x-rar-compressed',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.presentation',
]);

/**
 * The type of an upload, told from its first bytes (`SNIFF_BYTES` of them),
 * never from its name or the client's claim: a labelled type, or
 * `application/octet-stream` when it is unknown or not one Parley labels.
 * Text formats (HTML, SVG, scripts) have no magic bytes and are always
 * `application/octet-stream`.
 */
export async function sniffContentType(head: Buffer): Promise<string> {
  const detected = await fileTypeFromBuffer(head.subarray(0, SNIFF_BYTES));
  return detected && LABELLED.has(detected.mime) ? detected.mime : OCTET_STREAM;
}

const essence = (contentType: string) => (contentType.split(';')[0] ?? '').trim().toLowerCase();

/** True for the raster images Parley makes thumbnails of (never SVG). */
export function makesThumbnails(contentType: string): boolean {
  return RASTER_IMAGES.has(essence(contentType));
}

/** `inline` only for the raster images that are safe to render; everything else (SVG too) downloads. */
export function dispositionOf(contentType: string): 'inline' | 'attachment' {
  return makesThumbnails(contentType) ? 'inline' : 'attachment';
}

/**
 * Control characters (NUL included), invisible formatting (bidi overrides,
 * embeddings and isolates, zero-width characters, soft hyphens: all `Cf`),
 * lone surrogates, and the line and paragraph separators.
 */
const UNSAFE_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
/** An extension kept when a long name is shortened: a dot and up to 16 letters or digits. */
const EXTENSION = /\.[\p{L}\p{N}]{1,16}$/u;
const FALLBACK_NAME = 'file';

/**
 * A file name safe to store and to offer in `Content-Disposition`: the last
 * path component only, without control or invisible formatting characters
 * (so `evil\u202Egnp.exe` cannot pose as `evilexe.png`), without the leading
 * dots of a hidden file, trimmed, at most `limits.fileName.max` UTF-16 units
 * (a long name keeps its extension; a surrogate pair is never cut), and
 * `file` when nothing is left.
 */
export function cleanFileName(name: string): string {
  const visible = name.normalize('NFC').replace(UNSAFE_CHARACTERS, '');
  const lastComponent = visible.split(/[/\\]/).findLast((part) => part.trim() !== '') ?? '';
  const cleaned = lastComponent.replace(/^[\s.]+/u, '').trimEnd();
  if (cleaned === '') return FALLBACK_NAME;
  return shorten(cleaned, limits.fileName.max);
}

function shorten(name: string, max: number): string {
  if (name.length <= max) return name;
  const extension = EXTENSION.exec(name)?.[0] ?? '';
  const stem = cutAt(name.slice(0, name.length - extension.length), max - extension.length).trimEnd();
  return stem === '' ? cutAt(name, max) : stem + extension;
}

/** The first `length` UTF-16 units of `value`, one fewer when the last would be half a surrogate pair. */
function cutAt(value: string, length: number): string {
  const last = value.charCodeAt(length - 1);
  const splitsPair = last >= 0xd800 && last <= 0xdbff;
  return value.slice(0, splitsPair ? length - 1 : length);
}
