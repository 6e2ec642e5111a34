/**
 * The one function that turns pixels into model input. Training (Node) and the PWA (browser) both call it,
 * so a model sees the same numbers wherever it runs. No zod here: the inference worker imports this file, and the
 * schema (preprocessing-schema.ts) would add the whole of zod to the script every first prediction waits for.
 */
import type { Preprocessing } from './preprocessing-schema';

export const COLOR_MODES = ['grayscale', 'rgb'] as const;
export type ColorMode = (typeof COLOR_MODES)[number];

export function channelsOf(color: ColorMode): 1 | 3 {
  return color === 'grayscale' ? 1 : 3;
}

/** Model input shape [height, width, channels] (no batch dimension). */
export function inputShapeOf(p: Preprocessing): [number, number, number] {
  return [p.height, p.width, channelsOf(p.color)];
}

/** Grey from sRGB colour: ITU-R BT.601 luma weights on the encoded values, on the device and the hub alike. */
export function greyOf(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/**
 * pixels: height*width*sourceChannels bytes, row-major, interleaved (1 = grey, 3 = RGB, 4 = RGBA as from a canvas).
 * Returns height*width*channels float32 values, ready to be viewed as a [height, width, channels] tensor.
 * Grey from colour uses greyOf (so a decoder's own, different grey conversion never decides the input); alpha is ignored.
 */
export function pixelsToModelInput(
  pixels: ArrayLike<number>,
  sourceChannels: 1 | 3 | 4,
  p: Preprocessing,
  out: Float32Array = new Float32Array(p.height * p.width * channelsOf(p.color)),
): Float32Array {
  const count = p.height * p.width;
  if (pixels.length !== count * sourceChannels) {
    throw new Error(
      `pixels has ${pixels.length} values; expected ${count * sourceChannels} (${p.height}x${p.width}x${sourceChannels})`,
    );
  }
  const k = p.scale / 255;
  const b = p.offset;
  if (p.color === 'grayscale') {
    for (let i = 0; i < count; i++) {
      const grey =
        sourceChannels === 1
          ? pixels[i]!
          : greyOf(pixels[i * sourceChannels]!, pixels[i * sourceChannels + 1]!, pixels[i * sourceChannels + 2]!);
      out[i] = grey * k + b;
    }
    return out;
  }
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) {
      const v = sourceChannels === 1 ? pixels[i]! : pixels[i * sourceChannels + c]!;
      out[i * 3 + c] = v * k + b;
    }
  }
  return out;
}
