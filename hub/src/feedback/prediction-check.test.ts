import { FLOAT32_MAX, embeddingToBase64, mulberry32, predictionEventSchema } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { checkPrediction, quickPrediction } from './prediction-check';

function valid(): Record<string, unknown> {
  return {
    id: '3f1c1e7e-8a53-4b1f-9f3e-2f4a1c0d9b7a',
    model: 'fashion-cnn',
    version: 3,
    backend: 'webgpu',
    latencyMs: 1.25,
    top: [
      { label: 'Ankle boot', probability: 0.75 },
      { label: 'say "hi", {ok}', probability: 0.25 },
    ],
    embedding: [0.1, -2, 5e-324, -0, FLOAT32_MAX, 1e-40],
    source: 'camera',
    createdAt: '2026-11-30T08:00:00.123Z',
    deviceId: 'a1b2c3d4-e5f6',
    appVersion: '1.4.0-rc.1+abc',
    channel: 'staging',
  };
}

/** Values each field is tried with: valid ones and each way it can be wrong, plus what JSON cannot say (undefined). */
const TRIES: Record<string, unknown[]> = {
  id: ['3F1C1E7E-8A53-4B1F-9F3E-2F4A1C0D9B7A', '00000000-0000-0000-0000-000000000000', 'not-a-uuid', 42, null, undefined],
  model: ['m', 'Model', 'a'.repeat(64), 'ok-model', 7, undefined],
  version: [0, -1, 1.5, 2 ** 31 - 1, 2 ** 31, '3', Number.NaN, undefined],
  backend: ['gpu', 'wasm', 'tensorflow', '', undefined],
  latencyMs: [-0.1, 0, 600_000, 600_001, Infinity, '1', undefined],
  top: [[], [{ label: 'a', probability: 1.5 }], [{ label: ' a', probability: 0.5 }], [{ label: 'a/b', probability: 0.5 }], [{ label: 'a', probability: 0.5, extra: 1 }], [{ label: 'a\u0000', probability: 0.1 }], Array.from({ length: 21 }, () => ({ label: 'x', probability: 0 })), 'top', [null], undefined],
  embedding: [[], [1e39], [Number.NaN], ['1'], [1, null], Array.from({ length: 2049 }, () => 0), [-FLOAT32_MAX * 1.0000001], [3.4028235677973366e38], undefined],
  source: ['file', 'scanner', undefined],
  createdAt: ['2026-11-30T10:00:00.123+02:00', '2026-02-31T00:00:00.000Z', '2024-02-29T23:59:59.999Z', '2100-02-29T00:00:00.000Z', '2026-04-31T00:00:00.000Z', '2026-01-01T24:00:00.000Z', '2026-00-10T00:00:00.000Z', '2199-12-31T23:59:59.999Z', '2026-11-30T08:00:00Z', '1999-12-31T23:59:59.999Z', '1999-12-31T23:59:59Z', '2199-12-31T23:59:59Z', '2200-01-01T00:00:00Z', '2026-11-30', 'yesterday', undefined],
  deviceId: ['short', 'x'.repeat(65), 'has space', 'ok_ok_ok', undefined, null],
  appVersion: ['', '.1', 'v'.repeat(41), '2', undefined, null],
  channel: ['Production', 'null', '', undefined, 5],
  embeddingBase64: [embeddingToBase64([0.5, -1]), embeddingToBase64([]), 'AAAAAA==', 'AAC', '////fw==', '*', 7],
  unknownKey: [1],
};

/** What the schema parses, with the embedding as the float32 values a check gives. */
function schemaParse(event: Record<string, unknown>) {
  const parsed = predictionEventSchema.safeParse(event);
  return parsed.success ? { success: true as const, data: { ...parsed.data, embedding: Float32Array.from(parsed.data.embedding) } } : parsed;
}

/** The event with its embedding as base64, as the bulk endpoint is sent it. */
function withBase64(event: Record<string, unknown>): Record<string, unknown> {
  const { embedding, ...rest } = event;
  return { ...rest, embeddingBase64: embeddingToBase64(embedding as number[]) };
}

describe('prediction check', () => {
  it('takes a valid event exactly as predictionEventSchema parses it, its embedding sent as numbers or as base64', () => {
    const event = valid();
    const expected = schemaParse(event);
    expect(expected.success).toBe(true);
    expect(quickPrediction(event)).toEqual(expected.data);
    expect(quickPrediction(withBase64(event))).toEqual(expected.data);
    expect(checkPrediction(withBase64(event))).toEqual({ event: expected.data });
  });

  it("gives the schema's reasons, naming embeddingBase64 when it is what is wrong", () => {
    const { embedding: _, ...noEmbedding } = valid();
    expect(checkPrediction({ ...noEmbedding, embeddingBase64: 'not base64!' })).toEqual({ reason: "embeddingBase64: must be base64 of the embedding's float32 values, little-endian" });
    expect(checkPrediction({ ...noEmbedding, embeddingBase64: 'AAAA' })).toEqual({ reason: 'embeddingBase64: must hold whole float32 values (4 bytes each), got 3 bytes' });
    expect(checkPrediction({ ...noEmbedding, embeddingBase64: embeddingToBase64([1, Number.NaN]) })).toEqual({ reason: 'embeddingBase64: value 1 is NaN (NaN and infinities are refused)' });
    expect(checkPrediction({ ...valid(), embeddingBase64: embeddingToBase64([1]) })).toEqual({ reason: 'embeddingBase64: send the embedding once, as embedding or as embeddingBase64, not both' });
    expect(checkPrediction({ ...withBase64(valid()), version: 0 })).toMatchObject({ reason: expect.stringMatching(/^version: /) });
    // An unusual but valid event goes past the quick check to the schema, which takes it.
    const offset = checkPrediction({ ...withBase64(valid()), createdAt: '2026-11-30T10:00:00.123+02:00' });
    expect(offset).toMatchObject({ event: { createdAt: '2026-11-30T10:00:00.123+02:00', embedding: Float32Array.from(valid().embedding as number[]) } });
  });

  it('never takes an event the schema refuses, and gives what the schema gives when it takes one (5,000 mixed events)', () => {
    const random = mulberry32(11);
    const fields = Object.keys(TRIES);
    let taken = 0;
    let refusedBySchema = 0;
    for (let n = 0; n < 5_000; n++) {
      const event = valid();
      // One to three fields changed at a time.
      for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
        const field = fields[Math.floor(random() * fields.length)]!;
        const tries = TRIES[field]!;
        const value = tries[Math.floor(random() * tries.length)];
        if (value === undefined) delete event[field];
        else event[field] = value;
      }
      const quick = quickPrediction(event);
      const checked = checkPrediction(event);
      if ('reason' in checked) refusedBySchema++;
      if (quick === null) continue;
      taken++;
      expect(checked, JSON.stringify(event)).toEqual({ event: quick });
    }
    // Both kinds were seen often: the check is exercised on either side.
    expect(taken).toBeGreaterThan(300);
    expect(refusedBySchema).toBeGreaterThan(2_000);
  });

  it('leaves anything that is not an object to the schema', () => {
    for (const raw of [null, 'event', 3, [valid()], undefined]) expect(quickPrediction(raw)).toBeNull();
  });
});
