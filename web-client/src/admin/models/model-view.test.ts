import { describe, expect, it } from 'vitest';
import { canaryQuestion, encodingRows, formatBytes, moveText, promoteQuestion, rollbackQuestion } from './model-view';

describe('models view words', () => {
  it('says sizes in bytes, KiB and MiB', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(42_188)).toBe('41.2 KiB');
    expect(formatBytes(3_565_158)).toBe('3.40 MiB');
    expect(formatBytes(null)).toBe('–');
  });

  it('lists the encodings in order with the gate verdict, refused ones without a size', () => {
    const rows = encodingRows(
      {
        uint8: { format: 'uint8', accuracy: 0.8, drop: 5.2, published: false, reason: 'accuracy drop 5.20 points exceeds the 1 point threshold', bytes: null },
        float32: { format: 'float32', accuracy: 0.852, drop: 0, published: true, bytes: 400_000 },
        float16: { format: 'float16', accuracy: 0.851, drop: 0.1, published: true, bytes: 200_000 },
      },
      'float16',
    );
    expect(rows.map((r) => [r.format, r.size, r.accuracy, r.recommended, r.verdict])).toEqual([
      ['float32', '390.6 KiB', '85.20%', false, 'published (the reference)'],
      ['float16', '195.3 KiB', '85.10%', true, 'published: 0.10 points below float32'],
      ['uint8', '–', '80.00%', false, 'refused: accuracy drop 5.20 points exceeds the 1 point threshold'],
    ]);
  });

  it('names the versions a move goes between, before and after', () => {
    expect(promoteQuestion('production', 3, 5)).toBe('Move production from v3 to v5 for every device?');
    expect(promoteQuestion('staging', null, 1)).toBe('Point staging to v1 for every device? It points to no version yet.');
    expect(rollbackQuestion('production', 5, 3)).toBe('Move production back from v5 to v3 for every device? This undoes the latest promote.');
    expect(canaryQuestion('production', 3, 5, 10)).toBe('Send v5 to 10% of the devices on production, the others staying on v3?');
    const at = '2026-11-30T10:00:00Z';
    expect(moveText({ channel: 'production', action: 'promote', from: null, to: 1, reason: 'r', movedBy: 'a', at })).toBe('promote production v1');
    expect(moveText({ channel: 'production', action: 'rollback', from: 2, to: 1, reason: 'r', movedBy: 'a', at })).toBe('rollback production v2 → v1');
    expect(moveText({ channel: 'production', action: 'canary', from: 1, to: 2, reason: 'r', movedBy: 'a', at })).toBe('started a canary of v2 on production (others on v1)');
  });
});
