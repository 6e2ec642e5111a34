import { describe, expect, it } from 'vitest';
import { NOT_SURE_MARGIN, confidenceOf, percent } from './confidence';

const top = (...ps: number[]) => ps.map((probability, i) => ({ label: `class-${i}`, probability }));

describe('confidenceOf', () => {
  it('is sure when the top class leads the runner-up by the margin or more', () => {
    const c = confidenceOf(top(0.9, 0.06, 0.04));
    expect(c).toMatchObject({ top: { label: 'class-0', probability: 0.9 }, runnerUp: { label: 'class-1', probability: 0.06 }, sure: true });
    expect(c.margin).toBeCloseTo(0.84, 10);
    expect(confidenceOf(top(0.7, 0.2, 0.1)).sure).toBe(true);
  });

  it('is not sure when the runner-up is close, even with a top class above half', () => {
    expect(confidenceOf(top(0.55, 0.4, 0.05)).sure).toBe(false);
    expect(confidenceOf(top(0.74, 0.25)).sure).toBe(false);
    expect(confidenceOf(top(0.34, 0.33, 0.33)).sure).toBe(false);
  });

  it('decides at the threshold itself: a margin of exactly NOT_SURE_MARGIN is sure', () => {
    expect(confidenceOf(top(0.75, 0.25)).margin).toBeCloseTo(NOT_SURE_MARGIN, 12);
    expect(confidenceOf(top(0.75, 0.25)).sure).toBe(true);
    expect(confidenceOf(top(0.7499, 0.2501)).sure).toBe(false);
  });

  it('has no runner-up with one class, and refuses none', () => {
    expect(confidenceOf(top(1))).toMatchObject({ runnerUp: null, margin: 1, sure: true });
    expect(() => confidenceOf([])).toThrow(RangeError);
  });
});

describe('percent', () => {
  it('rounds to whole percents, keeping a decimal under 1%', () => {
    expect([percent(0.873), percent(1), percent(0.004), percent(0)]).toEqual(['87%', '100%', '0.4%', '0.0%']);
  });
});
