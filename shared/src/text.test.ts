import { describe, expect, it } from 'vitest';
import { MAX_EMBEDDING_SIZE, MAX_SYNC_BATCH, MAX_SYNC_BODY_BYTES, MAX_TOP_CLASSES, predictionEventSchema } from './feedback';
import { z } from 'zod';
import { FLOAT32_MAX, float32Array, float32Schema, text } from './text';

describe('storable input', () => {
  it('refuses NUL and lone surrogates in free text, and text over its length', () => {
    const name = text(10);
    expect(name.parse('café 😀')).toBe('café 😀');
    expect(name.safeParse('a\u0000b').error?.issues[0]!.message).toBe('must not contain NUL (\\u0000) characters');
    expect(name.safeParse('a\ud800b').error?.issues[0]!.message).toBe('must be well-formed Unicode (no lone surrogate characters)');
    expect(name.safeParse('\udc00').success).toBe(false);
    expect(name.safeParse('x'.repeat(11)).error?.issues[0]!.message).toBe('must be at most 10 characters');
  });

  it('keeps numbers a float32 holds, rounds those too small to 0, and refuses the rest', () => {
    expect(float32Schema.parse(0.5)).toBe(0.5);
    expect(float32Schema.parse(5e-324)).toBe(0);
    expect(float32Schema.parse(-FLOAT32_MAX)).toBe(-FLOAT32_MAX);
    for (const bad of [1e300, -1e300, 3.5e38, Number.MAX_VALUE, Infinity, Number.NaN]) expect(float32Schema.safeParse(bad).success, String(bad)).toBe(false);
  });

  const issuesOf = (error: z.ZodError) => error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).sort();

  it('checks an array of float32 values as z.array(float32Schema) does: same values, same issues at the same paths', () => {
    const fast = float32Array(z.array(z.number()).min(1).max(4, 'at most 4'));
    const slow = z.array(float32Schema).min(1).max(4, 'at most 4');
    const cases: unknown[] = [[0.1, -2, 5e-324], [1e300, 0.5, -Infinity], [], [1, 2, 3, 4, 5], [1, '2', 3e39], 'text', [Number.NaN], [-FLOAT32_MAX, FLOAT32_MAX]];
    for (const input of cases) {
      const [a, b] = [fast.safeParse(input), slow.safeParse(input)];
      expect(a.success, JSON.stringify(input)).toBe(b.success);
      if (a.success && b.success) expect(a.data).toEqual(b.data);
      // The same issues; those of the values' range come after those of their type.
      else expect(issuesOf(a.error!), JSON.stringify(input)).toEqual(issuesOf(b.error!));
    }
  });

  it('fits a full sync batch of the largest valid prediction events in the sync body limit', () => {
    // Labels of control characters are JSON-escaped to 6 bytes each; float32 values print as up to 23 characters.
    const label = (i: number) => String.fromCharCode(65 + i) + '\u0001'.repeat(63);
    const event = predictionEventSchema.parse({
      id: '3f1c1e7e-8a53-4b1f-9f3e-2f4a1c0d9b7a',
      model: 'm'.repeat(63),
      version: 2 ** 31 - 1,
      backend: 'tensorflow',
      latencyMs: 599_999.123456789,
      top: Array.from({ length: MAX_TOP_CLASSES }, (_, i) => ({ label: label(i), probability: 0.012345678901234567 })),
      embedding: Array.from({ length: MAX_EMBEDDING_SIZE }, () => -1.1754943508222875e-38),
      source: 'paste',
      createdAt: '2026-11-20T10:00:00.123456789+13:45',
      deviceId: 'd'.repeat(64),
      appVersion: 'v'.repeat(40),
      channel: 'c'.repeat(32),
    });
    const batch = JSON.stringify({ project: 'p'.repeat(63), predictions: Array.from({ length: MAX_SYNC_BATCH }, () => event) });
    expect(Buffer.byteLength(batch)).toBeLessThan(MAX_SYNC_BODY_BYTES);
  });
});
