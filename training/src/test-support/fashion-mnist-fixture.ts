/** The Fashion-MNIST sample the repo ships (hub/fixtures), as TrainingData for tests and benchmarks. */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Preprocessing } from '@edgeloop/shared';
import { sharedImageSet, type ImageSet, type TrainingData } from '../train/training-data';

export const FASHION_MNIST_SAMPLE_DIR = path.resolve(import.meta.dirname, '../../../hub/fixtures/fashion-mnist-sample');
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_LABELS = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const FASHION_PREPROCESSING: Preprocessing = { height: 28, width: 28, color: 'grayscale', scale: 1, offset: 0 };

/** IDX payload after its header: 16 bytes for images (magic, count, rows, cols), 8 for labels (magic, count). */
function idxPayload(dir: string, file: string, headerBytes: number): Buffer {
  return zlib.gunzipSync(fs.readFileSync(path.join(dir, file))).subarray(headerBytes);
}

function loadSplit(dir: string, prefix: 'train' | 't10k', from: number, to?: number): ImageSet {
  const pixels = idxPayload(dir, `${prefix}-images-idx3-ubyte.gz`, 16);
  const labels = idxPayload(dir, `${prefix}-labels-idx1-ubyte.gz`, 8);
  const end = Math.min(to ?? labels.length, labels.length);
  const set = sharedImageSet(end - from, 28, 28, 1);
  set.pixels.set(pixels.subarray(from * 784, end * 784));
  set.labels.set(labels.subarray(from, end));
  return set;
}

/** Train/val from the IDX train file (val = the last `valCount`), test from t10k. */
export function loadFashionMnist(dir = FASHION_MNIST_SAMPLE_DIR, options: { valCount?: number; trainCount?: number } = {}): TrainingData {
  const total = zlib.gunzipSync(fs.readFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'))).length - 8;
  const valCount = options.valCount ?? Math.round(total / 12);
  const trainEnd = Math.min(total - valCount, options.trainCount ?? Infinity);
  return {
    labels: FASHION_LABELS,
    preprocessing: FASHION_PREPROCESSING,
    train: loadSplit(dir, 'train', 0, trainEnd),
    val: loadSplit(dir, 'train', total - valCount),
    test: loadSplit(dir, 't10k', 0),
  };
}
