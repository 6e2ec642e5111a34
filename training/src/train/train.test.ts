import { describe, expect, it } from 'vitest';
import { validateModelConfig } from '../models/model-config';
import { loadFashionMnist } from '../test-support/fashion-mnist-fixture';
import { train } from './train';
import { validateTrainConfig } from './train-config';

const model = validateModelConfig({ architecture: 'reference-cnn', numClasses: 10 });
const data = loadFashionMnist(undefined, { trainCount: 640, valCount: 128 });

describe('data-parallel training', () => {
  it('learns, and the same seed gives the same model bit for bit; another seed does not', async () => {
    const config = validateTrainConfig({ epochs: 2, batchSize: 64, seed: 11, backend: 'wasm', replicas: 2 });
    const [a, b, c] = await Promise.all([train({ model, config, data }), train({ model, config, data }), train({ model, config: { ...config, seed: 12 }, data })]);
    expect(a.replicas).toBe(2);
    expect(a.history).toHaveLength(2);
    expect(a.history[1]!.loss).toBeLessThan(a.history[0]!.loss);
    expect(a.evaluations.float32!.accuracy).toBeGreaterThan(0.4); // 10 classes: chance is 0.1
    expect(Buffer.from(a.artifacts.float32!.weightData).equals(Buffer.from(b.artifacts.float32!.weightData))).toBe(true);
    expect(Buffer.from(a.artifacts.float32!.weightData).equals(Buffer.from(c.artifacts.float32!.weightData))).toBe(false);
    expect(Object.keys(a.artifacts)).toEqual(['float32', 'float16', 'uint8']);
  });

  it('keeps runs with dropout reproducible: its masks are seeded per step', async () => {
    const withDropout = validateModelConfig({ architecture: 'reference-cnn', numClasses: 10, dropout: 0.5 });
    const config = validateTrainConfig({ epochs: 1, batchSize: 64, seed: 3, backend: 'wasm', replicas: 2 });
    const [a, b, plain] = await Promise.all([
      train({ model: withDropout, config, data }),
      train({ model: withDropout, config, data }),
      train({ model, config, data }),
    ]);
    expect(Buffer.from(a.artifacts.float32!.weightData).equals(Buffer.from(b.artifacts.float32!.weightData))).toBe(true);
    expect(Buffer.from(a.artifacts.float32!.weightData).equals(Buffer.from(plain.artifacts.float32!.weightData))).toBe(false);
  });

  it('stops at the next step when aborted, and says so', async () => {
    const controller = new AbortController();
    const result = await train({
      model,
      config: validateTrainConfig({ epochs: 50, batchSize: 32, backend: 'wasm', replicas: 2 }),
      data,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(result.cancelled).toBe(true);
    expect(result.history.length).toBeLessThan(50);
    expect(result.artifacts).toEqual({});
  });
});
