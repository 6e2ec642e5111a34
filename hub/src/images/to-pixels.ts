import { greyOf } from '@edgeloop/shared';
import sharp from 'sharp';
import { withDecodeSlot } from './decode';

/**
 * Decodes an image and resizes it to the model's input size: height*width*channels bytes, row-major,
 * interleaved (1 = grey, 3 = RGB). What the shared preprocessing takes as input. `maxPixels` bounds the decoded
 * size for untrusted images (check the header first with assertImageWithinPixels for a clear message).
 */
export async function decodeToPixels(bytes: Uint8Array, size: { height: number; width: number; channels: 1 | 3 }, maxPixels?: number): Promise<Uint8Array> {
  // Always decoded as sRGB: libvips' own grey (Rec.709 luminance in linear light) differs from the device's by up to
  // 57/255 on colour pictures, so grey is made here with the shared greyOf, as the PWA does from its canvas's RGBA.
  const image = sharp(bytes, { failOn: 'error', ...(maxPixels ? { limitInputPixels: maxPixels } : {}) })
    .resize(size.width, size.height, { fit: 'fill' })
    .removeAlpha()
    .toColorspace('srgb');
  const { data, info } = await withDecodeSlot(() => image.raw().toBuffer({ resolveWithObject: true }));
  if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, expected 3`);
  const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
  if (size.channels === 3) return rgb;
  const grey = new Uint8Array(size.width * size.height);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(greyOf(rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!));
  return grey;
}
