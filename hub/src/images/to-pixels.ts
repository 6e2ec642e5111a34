import sharp from 'sharp';
import { withDecodeSlot } from './decode';

/**
 * Decodes an image and resizes it to the model's input size: height*width*channels bytes, row-major,
 * interleaved (1 = grey, 3 = RGB). What the shared preprocessing takes as input. `maxPixels` bounds the decoded
 * size for untrusted images (check the header first with assertImageWithinPixels for a clear message).
 */
export async function decodeToPixels(bytes: Uint8Array, size: { height: number; width: number; channels: 1 | 3 }, maxPixels?: number): Promise<Uint8Array> {
  let image = sharp(bytes, { failOn: 'error', ...(maxPixels ? { limitInputPixels: maxPixels } : {}) }).resize(size.width, size.height, { fit: 'fill' });
  image = size.channels === 1 ? image.grayscale() : image.removeAlpha().toColorspace('srgb');
  const { data, info } = await withDecodeSlot(() => image.raw().toBuffer({ resolveWithObject: true }));
  if (info.channels !== size.channels) throw new Error(`decoded ${info.channels} channels, expected ${size.channels}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}
