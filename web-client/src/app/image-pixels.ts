/** Images from the camera, a file, a drop or a paste, as the RGBA pixels the model's preprocessing takes. */
import { IMAGE_CONTENT_TYPES, MAX_IMAGE_BYTES, type Preprocessing } from '@edgeloop/shared';

export interface ModelPixels {
  /** height * width * 4 bytes at the model's input size. */
  rgba: Uint8ClampedArray;
  /** A small JPEG data URL for this device's history. */
  thumbnail: string;
  /** The image in a format the hub accepts (a camera frame as JPEG), kept on the device; null if too large. */
  original: Blob | null;
}

const THUMBNAIL_SIZE = 96;

function context(width: number, height: number): OffscreenCanvasRenderingContext2D {
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser cannot draw images (no 2D canvas)');
  ctx.imageSmoothingQuality = 'high';
  return ctx;
}

export async function toModelPixels(source: Blob | HTMLVideoElement, p: Preprocessing): Promise<ModelPixels> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(source, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error('this is not an image the browser can decode (use PNG, JPEG, WebP or GIF)');
  }
  try {
    const input = context(p.width, p.height);
    input.drawImage(bitmap, 0, 0, p.width, p.height);
    const rgba = input.getImageData(0, 0, p.width, p.height).data;

    const scale = Math.min(1, THUMBNAIL_SIZE / Math.max(bitmap.width, bitmap.height));
    const thumb = context(Math.max(1, Math.round(bitmap.width * scale)), Math.max(1, Math.round(bitmap.height * scale)));
    thumb.drawImage(bitmap, 0, 0, thumb.canvas.width, thumb.canvas.height);
    const blob = await thumb.canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
    return { rgba, thumbnail: await dataUrl(blob), original: await original(source, bitmap) };
  } finally {
    bitmap.close();
  }
}

/** Files keep their bytes when the hub accepts their type; anything else (camera frames, GIFs) becomes a JPEG. */
async function original(source: Blob | HTMLVideoElement, bitmap: ImageBitmap): Promise<Blob | null> {
  if (source instanceof Blob && (IMAGE_CONTENT_TYPES as readonly string[]).includes(source.type)) return source.size <= MAX_IMAGE_BYTES ? source : null;
  const frame = context(bitmap.width, bitmap.height);
  frame.drawImage(bitmap, 0, 0);
  const jpeg = await frame.canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
  return jpeg.size <= MAX_IMAGE_BYTES ? jpeg : null;
}

function dataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
