import sharp from 'sharp';
import type { ImageContentType } from '@edgeloop/shared';
import { badRequest } from '../errors';

export interface DecodedImageInfo {
  contentType: ImageContentType;
  width: number;
  height: number;
}

const FORMAT_TO_TYPE: Record<string, ImageContentType> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/**
 * Proves that `bytes` are a whole PNG, JPEG or WebP image by decoding every pixel (a header alone can
 * hide a truncated or corrupt body). `what` names the input in the error, e.g. a file path or upload id.
 */
export async function decodeImage(bytes: Uint8Array, what: string): Promise<DecodedImageInfo> {
  try {
    const { info } = await sharp(bytes, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
    const metadata = await sharp(bytes).metadata();
    const contentType = FORMAT_TO_TYPE[metadata.format ?? ''];
    if (!contentType) throw new Error(`format ${metadata.format}`);
    return { contentType, width: info.width, height: info.height };
  } catch (error) {
    throw badRequest(
      `${what} is not a decodable PNG, JPEG or WebP image (${(error as Error).message.split('\n')[0]})`,
    );
  }
}
