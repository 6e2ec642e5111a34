import { describe, expect, it } from 'vitest';
import { cellColours, cellText, contrast, rowTotals } from './confusion-scale';

describe('confusion matrix colours', () => {
  it('gives every shade, right or wrong, text with at least 4.5:1 contrast', () => {
    for (const right of [true, false]) {
      for (let share = 0; share <= 1.0001; share += 0.01) {
        const { ratio } = cellColours(share, right);
        expect(ratio, `share ${share.toFixed(2)} ${right ? 'right' : 'wrong'}`).toBeGreaterThanOrEqual(4.5);
      }
    }
  });

  it('turns the text white on dark shades and dark on light ones', () => {
    expect(cellColours(1, true).color).toBe('rgb(255, 255, 255)');
    expect(cellColours(0.01, false).color).toBe('rgb(0, 0, 0)');
    expect(cellColours(0, false).background).not.toBe(cellColours(0.05, false).background);
  });

  it('computes WCAG contrast (black on white is 21:1)', () => {
    expect(contrast([0, 0, 0], [255, 255, 255])).toBeCloseTo(21);
  });
});

describe('confusion matrix cell text', () => {
  it('shows counts, or whole percents of the true class with <1% for small shares', () => {
    const confusion = [[90, 9, 1], [0, 0, 0], [300, 0, 700]];
    expect(rowTotals(confusion)).toEqual([100, 0, 1000]);
    expect(cellText(9, 100, 'counts')).toBe('9');
    expect(cellText(9, 100, 'percent')).toBe('9%');
    expect(cellText(1, 1000, 'percent')).toBe('<1%');
    expect(cellText(0, 0, 'percent')).toBe('0%');
    expect(cellText(700, 1000, 'percent')).toBe('70%');
  });
});
