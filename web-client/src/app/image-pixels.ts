/** Images from the camera, a file, a drop or a paste, as the RGBA pixels the model's preprocessing takes. */
import { IMAGE_CONTENT_TYPES, MAX_IMAGE_BYTES, type Preprocessing } from '@edgeloop/shared';

/** Larger files are not kept on the device for sharing (a camera frame or a photo is far below this). */
const MAX_KEPT_BYTES = 4 * MAX_IMAGE_BYTES;

export interface ModelPixels {
  /** height * width * 4 bytes at the model's input size. */
  rgba: Uint8ClampedArray;
  /** What the device keeps of the image, made while the model runs. */
  kept: Promise<KeptImage>;
}

export interface KeptImage {
  /** A small JPEG data URL for this device's history. */
  thumbnail: string;
  /** The image as classified, kept on the device for sharing (a file as it is, a camera frame as JPEG), or why not. */
  original: SharedImage;
}

/** What a labeler's share would send: the image, and what was done to it (or why there is none), in words. */
export type SharedImage = { image: Blob; note: string | null } | { image: null; note: string };

const THUMBNAIL_SIZE = 96;

function context(width: number, height: number): OffscreenCanvasRenderingContext2D {
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser cannot draw images (no 2D canvas)');
  ctx.imageSmoothingQuality = 'high';
  return ctx;
}

/** Decodes (off the main thread, where the browser can) into a bitmap; the caller closes it. */
async function decode(source: Blob | HTMLVideoElement): Promise<ImageBitmap> {
  try {
    return await createImageBitmap(source, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error('this is not an image the browser can decode (use PNG, JPEG, WebP or GIF)');
  }
}

/** The bitmap at the model's input size: height * width * 4 bytes. */
function modelRgba(bitmap: ImageBitmap, p: Preprocessing): Uint8ClampedArray {
  const input = context(p.width, p.height);
  input.drawImage(bitmap, 0, 0, p.width, p.height);
  return input.getImageData(0, 0, p.width, p.height).data;
}

/** Only the model's input, for live camera frames (no thumbnail, nothing kept): the same pixels toModelPixels gives. */
export async function toModelInput(source: HTMLVideoElement, p: Preprocessing): Promise<Uint8ClampedArray> {
  const bitmap = await decode(source);
  try {
    return modelRgba(bitmap, p);
  } finally {
    bitmap.close();
  }
}

/** The model's input at once; the thumbnail and the kept original follow (their encoding need not delay the model). */
export async function toModelPixels(source: Blob | HTMLVideoElement, p: Preprocessing): Promise<ModelPixels> {
  const bitmap = await decode(source);
  let rgba: Uint8ClampedArray;
  try {
    rgba = modelRgba(bitmap, p);
  } catch (error) {
    bitmap.close();
    throw error;
  }
  const kept = keptImage(source, bitmap).finally(() => bitmap.close());
  kept.catch(() => {}); // the caller awaits it
  return { rgba, kept };
}

async function keptImage(source: Blob | HTMLVideoElement, bitmap: ImageBitmap): Promise<KeptImage> {
  const scale = Math.min(1, THUMBNAIL_SIZE / Math.max(bitmap.width, bitmap.height));
  const thumb = context(Math.max(1, Math.round(bitmap.width * scale)), Math.max(1, Math.round(bitmap.height * scale)));
  thumb.drawImage(bitmap, 0, 0, thumb.canvas.width, thumb.canvas.height);
  const blob = await thumb.canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
  return { thumbnail: await dataUrl(blob), original: await original(source, bitmap) };
}

/** Files keep their bytes (fitted to the hub only if shared); anything else (camera frames, GIFs) becomes a JPEG. */
async function original(source: Blob | HTMLVideoElement, bitmap: ImageBitmap): Promise<SharedImage> {
  if (source instanceof Blob && (IMAGE_CONTENT_TYPES as readonly string[]).includes(source.type)) {
    return source.size <= MAX_KEPT_BYTES ? { image: source, note: null } : { image: null, note: `not kept for sharing: the ${megabytes(source.size)} file is larger than this device keeps (${megabytes(MAX_KEPT_BYTES)})` };
  }
  const frame = context(bitmap.width, bitmap.height);
  frame.drawImage(bitmap, 0, 0);
  return { image: await frame.canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 }), note: null };
}

/**
 * The image as the project's hub keeps it: as it is when its type, bytes and pixel count are accepted, else drawn again
 * as a JPEG shrunk to `maxPixels` (keeping the aspect ratio), at a lower quality where needed to fit MAX_IMAGE_BYTES.
 * Runs only for images a labeler shares, when they are uploaded.
 */
export async function fitForUpload(image: Blob, maxPixels: number): Promise<SharedImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(image);
  } catch {
    return { image: null, note: 'not sent: this browser cannot decode the image' };
  }
  try {
    const pixels = bitmap.width * bitmap.height;
    const accepted = (IMAGE_CONTENT_TYPES as readonly string[]).includes(image.type);
    if (accepted && image.size <= MAX_IMAGE_BYTES && pixels <= maxPixels) return { image, note: null };
    const scale = Math.min(1, Math.sqrt(maxPixels / pixels));
    const width = Math.max(1, Math.floor(bitmap.width * scale));
    const height = Math.max(1, Math.floor(bitmap.height * scale));
    const frame = context(width, height);
    frame.drawImage(bitmap, 0, 0, width, height);
    for (const quality of [0.9, 0.75, 0.6]) {
      const jpeg = await frame.canvas.convertToBlob({ type: 'image/jpeg', quality });
      if (jpeg.size > MAX_IMAGE_BYTES) continue;
      if (scale < 1) return { image: jpeg, note: `shrunk from ${bitmap.width}×${bitmap.height} to ${width}×${height}` };
      return { image: jpeg, note: `re-encoded as JPEG: the ${megabytes(image.size)} file is over the hub's ${megabytes(MAX_IMAGE_BYTES)} limit` };
    }
    return { image: null, note: `not sent: even as a JPEG it is over the hub's ${megabytes(MAX_IMAGE_BYTES)} limit` };
  } finally {
    bitmap.close();
  }
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function dataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
