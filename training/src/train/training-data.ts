/**
 * Images held once in shared memory and read by every training replica without copies.
 * pixels: count * height * width * channels bytes (the source pixels, already at the model's input size);
 * labels: count class indices.
 */
import type { Preprocessing } from '@edgeloop/shared';

export interface ImageSet {
  count: number;
  /** Source channels of `pixels`: 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
  pixels: Uint8Array;
  labels: Uint16Array;
}

export interface TrainingData {
  labels: string[];
  preprocessing: Preprocessing;
  train: ImageSet;
  val: ImageSet;
  test: ImageSet;
}

/** Allocates an ImageSet on SharedArrayBuffers so worker threads see the same bytes. */
export function sharedImageSet(count: number, height: number, width: number, channels: 1 | 3): ImageSet {
  return {
    count,
    channels,
    pixels: new Uint8Array(new SharedArrayBuffer(count * height * width * channels)),
    labels: new Uint16Array(new SharedArrayBuffer(Math.max(2, count * 2))),
  };
}
