import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** Images for tests, made with sharp or by hand: photos, oriented and animated ones, and hostile files. */

export const RED = '#ff0000';
export const GREEN = '#00ff00';
export const BLUE = '#0000ff';

export const solid = (width: number, height: number, background: string, channels: 3 | 4 = 3) => ({ create: { width, height, channels, background } });

/**
 * A photo-like JPEG: noise enlarged four times, so that it compresses and
 * decodes like a picture, not like a flat colour (12 MP: about 3.4 MiB).
 */
export async function photo(width: number, height: number): Promise<Buffer> {
  const seedSize = { width: Math.ceil(width / 4), height: Math.ceil(height / 4) };
  const noise = { create: { ...seedSize, channels: 3 as const, background: '#000', noise: { type: 'gaussian' as const, mean: 128, sigma: 40 } } };
  const seed = await sharp(noise).png().toBuffer();
  return sharp(seed).resize(width, height, { fit: 'fill' }).jpeg({ quality: 85 }).toBuffer();
}

/**
 * A 400 × 200 JPEG whose left quarter is blue, tagged to be shown turned a
 * quarter to the right (orientation 6): shown, it is 200 × 400, blue on top.
 */
export async function orientedJpeg(): Promise<Buffer> {
  return sharp(solid(400, 200, RED))
    .composite([{ input: solid(100, 200, BLUE), left: 0, top: 0 }])
    .withIccProfile('p3')
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Make: 'Parley', Model: 'Test' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 3230/100', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 4366/100' } })
    .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>')
    .toBuffer();
}

/** Three 60 × 40 frames as one animation (sharp's types take only encoded images to join). */
export async function animation(format: 'gif' | 'webp'): Promise<Buffer> {
  const frames = await Promise.all([RED, GREEN, BLUE].map((colour) => sharp(solid(60, 40, colour)).png().toBuffer()));
  return sharp(frames, { join: { animated: true } }).toFormat(format).toBuffer();
}

/** A PNG whose header declares width × height, followed by a few bytes of pixels. */
export function pngDeclaring(width: number, height: number): Buffer {
  const u32 = (value: number) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(value);
    return out;
  };
  const chunk = (type: string, data: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    return Buffer.concat([u32(data.length), typed, u32(crc32(typed) >>> 0)]);
  };
  const header = Buffer.concat([u32(width), u32(height), Buffer.from([8, 2, 0, 0, 0])]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The first half of the bytes: an upload cut off. */
export const truncated = (data: Buffer) => data.subarray(0, Math.floor(data.length / 2));

/** Deterministic bytes that are no image. */
export function noiseBytes(length: number): Buffer {
  const out = Buffer.alloc(length);
  let state = 0x2545f491;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}
