import sharp from 'sharp';

/** Grain is laid at this fraction of the final size, then enlarged: blotches a camera's JPEG would hold, not pure noise. */
const GRAIN_SCALE = 4;

/**
 * A photo-like JPEG (quality 85) of `width` × `height`: colour gradients
 * with Gaussian grain, made at a quarter of the size and enlarged, so it
 * compresses and decodes like a picture rather than a flat colour or white
 * noise (12 MP: about 3.5 MiB, as in services/signaling/test/support/images.ts).
 * `variant` changes the gradient's direction and the grain, deterministically.
 */
export async function photoJpeg(width: number, height: number, variant: number): Promise<Buffer> {
  const seedWidth = Math.ceil(width / GRAIN_SCALE);
  const seedHeight = Math.ceil(height / GRAIN_SCALE);
  const pixels = Buffer.alloc(seedWidth * seedHeight * 3);
  const random = xorshift(0x9e3779b9 ^ (variant + 1) * 0x85ebca6b);
  const angle = (variant * 2.4) % (2 * Math.PI);
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  for (let y = 0; y < seedHeight; y += 1) {
    for (let x = 0; x < seedWidth; x += 1) {
      const along = (x / seedWidth) * dx + (y / seedHeight) * dy; // about -1.4 … 1.4
      const at = (y * seedWidth + x) * 3;
      const base = [128 + 90 * along, 110 + 70 * Math.sin(3 * along + variant), 140 - 80 * along];
      for (let channel = 0; channel < 3; channel += 1) {
        pixels[at + channel] = clamp(base[channel]! + 40 * gaussian(random));
      }
    }
  }
  return sharp(pixels, { raw: { width: seedWidth, height: seedHeight, channels: 3 } })
    .resize(width, height, { fit: 'fill' })
    .jpeg({ quality: 85 })
    .toBuffer();
}

function clamp(value: number): number {
  return Math.max(0, Math.min(255, Math.round(value)));
}

/** Deterministic uniform numbers in [0, 1). */
function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/** About N(0, 1): the sum of four uniforms, centred and scaled (Irwin–Hall). */
function gaussian(random: () => number): number {
  return (random() + random() + random() + random() - 2) * Math.sqrt(3);
}
