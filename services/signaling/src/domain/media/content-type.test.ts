import { crc32, deflateSync } from 'node:zlib';
import { limits } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { cleanFileName, dispositionOf, makesThumbnails, sniffContentType, SNIFF_BYTES } from './content-type.ts';

/** Bytes from strings (latin1) and byte lists. */
const bytes = (...parts: Array<string | number[] | Buffer>) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));
const u32 = (value: number) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
};
const pngChunk = (type: string, data: Buffer) => bytes(u32(data.length), type, data, u32(crc32(bytes(type, data)) >>> 0));
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const ihdr = pngChunk('IHDR', bytes(u32(1), u32(1), [8, 6, 0, 0, 0]));
const idat = pngChunk('IDAT', deflateSync(Buffer.alloc(5)));

const jpeg = bytes([0xff, 0xd8, 0xff, 0xe0, 0, 16], 'JFIF\0', [1, 1, 0, 0, 1, 0, 1, 0, 0]);
const svgWithScript = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>';
/** A JPEG whose comment segment is an HTML page: a browser that sniffed it as HTML would run the script. */
const htmlPayload = '<html><body><script>alert(document.cookie)</script></body></html>';
const polyglot = bytes(jpeg, [0xff, 0xfe], [0, htmlPayload.length + 2], htmlPayload, [0xff, 0xd9]);

describe('sniffContentType', () => {
  it.each<[string, Buffer, string]>([
    ['JPEG', jpeg, 'image/jpeg'],
    ['PNG', bytes(PNG_SIGNATURE, ihdr, idat, pngChunk('IEND', Buffer.alloc(0))), 'image/png'],
    ['animated PNG', bytes(PNG_SIGNATURE, ihdr, pngChunk('acTL', bytes(u32(2), u32(0))), idat), 'image/apng'],
    ['GIF', bytes('GIF89a', [1, 0, 1, 0, 0, 0, 0]), 'image/gif'],
    ['WebP', bytes('RIFF', [30, 0, 0, 0], 'WEBPVP8 ', [0, 0, 0, 0]), 'image/webp'],
    ['AVIF', bytes(u32(28), 'ftypavif', u32(0), 'avifmif1miaf'), 'image/avif'],
    ['HEIC (labelled, not thumbnailed)', bytes(u32(24), 'ftypheic', u32(0), 'mif1heic'), 'image/heic'],
    ['TIFF (labelled, not thumbnailed)', bytes('II*\0', [8, 0, 0, 0, 1, 0, 0, 1, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], Buffer.alloc(64)), 'image/tiff'],
    ['PDF', bytes('%PDF-1.7\n'), 'application/pdf'],
    ['MP4', bytes(u32(24), 'ftypisom', u32(512), 'isomiso2'), 'video/mp4'],
    ['ZIP', bytes('PK\x03\x04', [20, 0, 0, 0, 8, 0], Buffer.alloc(16), [5, 0, 0, 0], 'a.txt'), 'application/zip'],
    ['a Windows executable named x.png', bytes('MZ', Buffer.alloc(58), [64, 0, 0, 0], 'PE\0\0', Buffer.alloc(20)), 'application/octet-stream'],
    ['an ELF executable', bytes([0x7f], 'ELF', [2, 1, 1, 0], Buffer.alloc(8), [2, 0, 0x3e, 0]), 'application/octet-stream'],
    ['SVG with a script', bytes(svgWithScript), 'application/octet-stream'],
    ['SVG with an XML declaration (file-type says application/xml)', bytes('<?xml version="1.0"?>', svgWithScript), 'application/octet-stream'],
    ['HTML', bytes('<!doctype html>', htmlPayload), 'application/octet-stream'],
    ['a JPEG that is also an HTML page', polyglot, 'image/jpeg'],
    ['plain text', bytes('hello, world'), 'application/octet-stream'],
    ['random bytes', bytes([0x13, 0x37, 0x00, 0xff, 0x42, 0x99, 0x01, 0x02]), 'application/octet-stream'],
    ['nothing', Buffer.alloc(0), 'application/octet-stream'],
  ])('%s', async (_label, head, expected) => {
    await expect(sniffContentType(head)).resolves.toBe(expected);
  });

  it('reads only the first SNIFF_BYTES', async () => {
    const gifAfterTheHead = bytes(Buffer.alloc(SNIFF_BYTES, 0x20), 'GIF89a');
    await expect(sniffContentType(gifAfterTheHead)).resolves.toBe('application/octet-stream');
  });
});

describe('makesThumbnails and dispositionOf', () => {
  it.each<[string, boolean]>([
    ['image/jpeg', true],
    ['image/png', true],
    ['image/apng', true],
    ['image/gif', true],
    ['image/webp', true],
    ['image/avif', true],
    ['IMAGE/JPEG; charset=binary', true],
    ['image/svg+xml', false],
    ['image/tiff', false],
    ['image/heic', false],
    ['image/bmp', false],
    ['application/xml', false],
    ['text/html', false],
    ['application/pdf', false],
    ['video/mp4', false],
    ['application/octet-stream', false],
    ['', false],
  ])('%s: thumbnails %s', (contentType, raster) => {
    expect(makesThumbnails(contentType)).toBe(raster);
    expect(dispositionOf(contentType)).toBe(raster ? 'inline' : 'attachment');
  });

  it('never serves sniffed SVG inline', async () => {
    expect(dispositionOf(await sniffContentType(bytes(svgWithScript)))).toBe('attachment');
  });
});

describe('cleanFileName', () => {
  const long = (length: number, extension = '') => 'a'.repeat(length - extension.length) + extension;

  it.each<[string, string, string]>([
    ['a plain name', 'holiday.jpg', 'holiday.jpg'],
    ['a relative path', '../../etc/passwd', 'passwd'],
    ['a Windows path', 'C:\\Windows\\x.png', 'x.png'],
    ['a trailing separator', 'photos/2024/', '2024'],
    ['mixed separators', 'a\\b/c.txt', 'c.txt'],
    ['a right-to-left override', 'evil\u202Egnp.exe', 'evilgnp.exe'],
    ['embeddings and isolates', '\u202Aa\u202Bb\u202Cc\u202Dd\u2066e\u2067f\u2068g\u2069h.txt', 'abcdefgh.txt'],
    ['zero-width and other invisible formatting', 'in\u200Bvoice\u200E\uFEFF\u00AD.pdf', 'invoice.pdf'],
    ['control characters and NUL', 'a\u0000b\u0007c\nd\re\tf\u007F\u0085.txt', 'abcdef.txt'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'abc'],
    ['a lone surrogate', 'a\uD800b.txt', 'ab.txt'],
    ['a hidden file', '.bashrc', 'bashrc'],
    ['dots and spaces in front', ' . .env ', 'env'],
    ['whitespace around', '  report final.docx  ', 'report final.docx'],
    ['emoji and accents', 'café 🎉.png', 'café 🎉.png'],
    ['decomposed accents become composed', 'cafe\u0301.png', 'caf\u00e9.png'],
    ['empty', '', 'file'],
    ['only dots', '....', 'file'],
    ['only a path', '../..', 'file'],
    ['only invisible characters', '\u202E\u200B\u0000', 'file'],
    ['only whitespace', '   ', 'file'],
  ])('%s', (_label, name, expected) => {
    expect(cleanFileName(name)).toBe(expected);
  });

  it('keeps names of exactly the limit', () => {
    expect(cleanFileName(long(limits.fileName.max))).toBe(long(limits.fileName.max));
  });

  it('shortens a long name to the limit, keeping its extension', () => {
    const cleaned = cleanFileName(long(300, '.png'));
    expect(cleaned).toHaveLength(limits.fileName.max);
    expect(cleaned).toBe(long(limits.fileName.max, '.png'));
  });

  it('shortens a long name without an extension', () => {
    expect(cleanFileName('b'.repeat(300))).toBe('b'.repeat(limits.fileName.max));
  });

  it('never cuts a surrogate pair in half', () => {
    // 254 units, then an emoji of two: the 255th unit is the pair's first half.
    const cleaned = cleanFileName('x'.repeat(254) + '😀'.repeat(10));
    expect(cleaned).toBe('x'.repeat(254));
    expect(cleaned.isWellFormed()).toBe(true);
    const emojiOnly = cleanFileName('😀'.repeat(200));
    expect(emojiOnly).toHaveLength(254);
    expect(emojiOnly.isWellFormed()).toBe(true);
  });

  it('is stable: a cleaned name cleans to itself', () => {
    for (const name of ['../../etc/passwd', 'evil\u202Egnp.exe', long(300, '.tar'), '😀'.repeat(200), ' .x ']) {
      const once = cleanFileName(name);
      expect(cleanFileName(once)).toBe(once);
    }
  });
});
