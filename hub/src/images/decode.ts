import os from 'node:os';
import sharp, { type Metadata } from 'sharp';
import type { ImageContentType } from '@edgeloop/shared';
import { HubError, badRequest } from '../errors';

export interface DecodedImageInfo {
  contentType: ImageContentType;
  width: number;
  height: number;
}

const FORMAT_TO_TYPE: Record<string, ImageContentType> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/**
 * Most full decodes at once, hub-wide (uploads, imports, training loads, server-side predict): each costs CPU and
 * decoder memory in proportion to its pixels, so more at once than there are cores only adds memory.
 */
export const DECODE_SLOTS = Math.max(1, os.availableParallelism());
let decodesRunning = 0;
const waitingForSlot: (() => void)[] = [];

/** Decodes now in progress (at most DECODE_SLOTS). */
export const decodesInProgress = (): number => decodesRunning;

/** Runs `decode` when one of the DECODE_SLOTS is free; a finished decode hands its slot to the longest waiting. */
export async function withDecodeSlot<T>(decode: () => Promise<T>): Promise<T> {
  if (decodesRunning < DECODE_SLOTS) decodesRunning++;
  else await new Promise<void>((resolve) => waitingForSlot.push(resolve));
  try {
    return await decode();
  } finally {
    const next = waitingForSlot.shift();
    if (next) next();
    else decodesRunning--;
  }
}

/**
 * Refuses an image larger than `maxPixels` (width x height) from its header alone, before any pixel is decoded: a
 * small PNG can decode to 16000 x 16000 (1 GB of memory, seconds of CPU). Returns the header's size.
 */
export async function assertImageWithinPixels(bytes: Uint8Array, what: string, maxPixels: number): Promise<{ width: number; height: number; format?: string }> {
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes).metadata(); // reads the header only
  } catch (error) {
    throw badRequest(`${what} is not a decodable PNG, JPEG or WebP image (${(error as Error).message.split('\n')[0]})`);
  }
  const { width, height } = metadata;
  if (!width || !height) throw badRequest(`${what} is not a decodable PNG, JPEG or WebP image (no size in its header)`);
  if (width * height > maxPixels) {
    throw new HubError('PAYLOAD_TOO_LARGE', `${what} is ${width} x ${height} = ${width * height} pixels; the project accepts at most ${maxPixels} (maxImagePixels)`);
  }
  return { width, height, format: metadata.format };
}

/**
 * Proves that `bytes` are a whole PNG, JPEG or WebP image of at most `maxPixels` by decoding every pixel (a header
 * alone can hide a truncated or corrupt body). The pixels stream into a small thumbnail, never held at full size
 * (64 MiB at the default limit). `what` names the input in the error, e.g. a file path or upload id.
 */
export async function decodeImage(bytes: Uint8Array, what: string, maxPixels: number): Promise<DecodedImageInfo> {
  const header = await assertImageWithinPixels(bytes, what, maxPixels);
  try {
    const contentType = FORMAT_TO_TYPE[header.format ?? ''];
    if (!contentType) throw new Error(`format ${header.format}`);
    // limitInputPixels: sharp refuses too, should the body disagree with the header.
    await withDecodeSlot(() =>
      sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels }).resize(64, 64, { fit: 'inside', withoutEnlargement: true }).raw().toBuffer(),
    );
    return { contentType, width: header.width, height: header.height };
  } catch (error) {
    throw badRequest(
      `${what} is not a decodable PNG, JPEG or WebP image (${(error as Error).message.split('\n')[0]})`,
    );
  }
}
