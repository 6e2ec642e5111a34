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

describe('warm start', () => {
  /** A small reference CNN (a few thousand weights): fast enough to train three times here. */
  const tiny = validateModelConfig({ architecture: 'reference-cnn', numClasses: 10, filters: [4, 8], denseUnits: 32 });

  it("starts from another run's float32 weights: its first epoch is far more accurate than a cold start's", async () => {
    const base = validateTrainConfig({ epochs: 4, batchSize: 32, learningRate: 0.005, seed: 21, backend: 'wasm', replicas: 1 });
    const next = validateTrainConfig({ epochs: 1, batchSize: 32, learningRate: 0.005, seed: 22, backend: 'wasm', replicas: 1 });
    const [pretrained, cold] = await Promise.all([train({ model: tiny, config: base, data }), train({ model: tiny, config: next, data })]);
    const [warm, again] = await Promise.all([0, 1].map(() => train({ model: tiny, config: next, data, initialWeights: pretrained.artifacts.float32! })));
    const [coldFirst, warmFirst] = [cold.history[0]!.accuracy, warm!.history[0]!.accuracy];
    expect(warmFirst, `first-epoch train accuracy: warm ${warmFirst}, cold ${coldFirst}`).toBeGreaterThan(coldFirst + 0.15);
    expect(warm!.history[0]!.valAccuracy).toBeGreaterThan(cold.history[0]!.valAccuracy);
    // The same start and seed give the same model; a warm start is not the cold one.
    expect(Buffer.from(again!.artifacts.float32!.weightData).equals(Buffer.from(warm!.artifacts.float32!.weightData))).toBe(true);
    expect(Buffer.from(warm!.artifacts.float32!.weightData).equals(Buffer.from(cold.artifacts.float32!.weightData))).toBe(false);
  }, 120_000);

  it('refuses weights that do not fit the model, naming the weight and both shapes, and quantized weights', async () => {
    const config = validateTrainConfig({ epochs: 1, batchSize: 64, backend: 'wasm', replicas: 1 });
    const small = await train({ model: tiny, config: { ...config, epochs: 1 }, data: { ...data, train: { ...data.train, count: 64 } } });
    const wider = validateModelConfig({ architecture: 'reference-cnn', numClasses: 10, filters: [4, 8], denseUnits: 64 });
    await expect(train({ model: wider, config, data, initialWeights: small.artifacts.float32! })).rejects.toThrow(
      /the initial weights do not fit the model: weight 5 \(\S+\) has shape \[200, 32\], the model's \S+ has \[200, 64\]/,
    );
    await expect(train({ model: tiny, config, data, initialWeights: small.artifacts.uint8! })).rejects.toThrow(/is uint8; a warm start takes float32 weights/);
  });
});

