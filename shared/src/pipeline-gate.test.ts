import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE_SETTINGS, type PipelineSettings } from './pipeline';
import { decideGate, mcnemarExactP } from './pipeline-gate';
import type { EvaluateOutputs, EvaluationSet, EvaluationSetResult, SetMetrics } from './pipeline-steps';

const LABELS = ['T-shirt', 'Trouser', 'Shirt'] as const;
const GATE: PipelineSettings['gate'] = DEFAULT_PIPELINE_SETTINGS.gate; // +1 point, alpha 0.05, base loss 1, recall drop 5

/** Metrics of predictions against truth, counted item by item (confusion [true][predicted]). */
function metricsOf(truth: number[], predicted: number[]): SetMetrics {
  const confusion = LABELS.map(() => LABELS.map(() => 0));
  truth.forEach((t, i) => confusion[t]![predicted[i]!]!++);
  const rowTotals = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  return {
    accuracy: truth.length ? confusion.reduce((n, row, t) => n + row[t]!, 0) / truth.length : 0,
    perClassRecall: confusion.map((row, t) => (rowTotals[t] ? row[t]! / rowTotals[t]! : null)),
    confusion,
  };
}

/**
 * A set where each class has `perClass` items; `wrong[model][class]` of them are misclassified (as the next class).
 * The champion's mistakes are the first items of a class, the challenger's the last, so they overlap only when the
 * two counts together exceed the class size (the discordant pairs follow from that).
 */
function evaluated(set: EvaluationSet, perClass: number, wrong: { champion: number[]; challenger: number[] }): EvaluationSetResult {
  const truth: number[] = [];
  const champion: number[] = [];
  const challenger: number[] = [];
  LABELS.forEach((_, c) => {
    for (let i = 0; i < perClass; i++) {
      truth.push(c);
      const other = (c + 1) % LABELS.length;
      champion.push(i < wrong.champion[c]! ? other : c);
      challenger.push(i >= perClass - wrong.challenger[c]! ? other : c);
    }
  });
  const perClassPaired = LABELS.map(() => ({ championOnly: 0, challengerOnly: 0 }));
  truth.forEach((t, i) => {
    if (champion[i] === t && challenger[i] !== t) perClassPaired[t]!.championOnly++;
    if (challenger[i] === t && champion[i] !== t) perClassPaired[t]!.challengerOnly++;
  });
  const championOnly = perClassPaired.reduce((n, c) => n + c.championOnly, 0);
  const challengerOnly = perClassPaired.reduce((n, c) => n + c.challengerOnly, 0);
  return { set, items: truth.length, champion: metricsOf(truth, champion), challenger: metricsOf(truth, challenger), championOnly, challengerOnly, perClassPaired };
}

function outputs(...sets: EvaluationSetResult[]): EvaluateOutputs {
  return { encoding: 'uint8', sets, championBytes: 1000, challengerBytes: 1000 };
}

// Holdout: 100 per class; the champion misses 30 of each, the challenger 20: +10 points, 30 vs 60 discordant pairs.
const goodHoldout = () => evaluated('holdout', 100, { champion: [30, 30, 30], challenger: [20, 20, 20] });
// Base test: 200 per class, the same 20 mistakes each way: no loss, no recall change.
const steadyBaseTest = () => evaluated('base-test', 200, { champion: [20, 20, 20], challenger: [20, 20, 20] });

describe('decideGate', () => {
  it('promotes a challenger that beats the champion significantly on the holdout and holds up on the base test', () => {
    const verdict = decideGate(outputs(steadyBaseTest(), goodHoldout()), GATE, LABELS);
    expect(verdict.promote).toBe(true);
    expect(verdict.checks.every((c) => c.passed)).toBe(true);
    expect(verdict.checks.map((c) => c.check)).toEqual(['holdout-gain', 'holdout-significance', 'base-test-loss', 'class-recall', 'class-recall', 'class-recall']);
    const gain = verdict.checks.find((c) => c.check === 'holdout-gain')!;
    expect(gain.value).toBeCloseTo(10, 9);
    expect(gain.detail).toBe('holdout: +10.0 points over the champion on 300 recent items (needs +1.0)');
    const significance = verdict.checks.find((c) => c.check === 'holdout-significance')!;
    // 20 per class only the champion got right, 30 only the challenger: scipy.stats.binomtest(90, 150, 0.5, alternative='greater')
    expect(significance.value).toBeCloseTo(0.008798845964392914, 12);
    expect(significance.detail).toBe('holdout: McNemar p = 0.0088 (needs < 0.05; 90 items only the challenger got right, 60 only the champion)');
    expect(verdict.reason).toMatch(/^the challenger passed every check/);
  });

  it('refuses a gain on the holdout below the margin, even when significant', () => {
    const gate = { ...GATE, minHoldoutGain: 15 };
    const verdict = decideGate(outputs(steadyBaseTest(), goodHoldout()), gate, LABELS);
    expect(verdict.promote).toBe(false);
    const failed = verdict.checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.check)).toEqual(['holdout-gain']);
    expect(failed[0]!.bound).toBe(15);
    expect(verdict.reason).toBe('holdout: +10.0 points over the champion on 300 recent items (needs +15.0)');
  });

  it('refuses a gain that McNemar does not find significant', () => {
    // 10 per class: the champion misses 3, the challenger 2 → +10 points on 30 items, but 6 vs 9 discordant pairs.
    const small = evaluated('holdout', 10, { champion: [3, 3, 3], challenger: [2, 2, 2] });
    const verdict = decideGate(outputs(steadyBaseTest(), small), GATE, LABELS);
    expect(verdict.promote).toBe(false);
    expect(verdict.checks.filter((c) => !c.passed).map((c) => c.check)).toEqual(['holdout-significance']);
    const significance = verdict.checks.find((c) => c.check === 'holdout-significance')!;
    expect(significance.value).toBeCloseTo(0.30361938476562494, 12); // scipy.stats.binomtest(9, 15, 0.5, alternative='greater')
    expect(verdict.reason).toMatch(/^holdout: McNemar p = 0\.\d+ \(needs < 0\.05; \d+ items only the challenger got right, \d+ only the champion\)$/);
  });

  it('refuses a challenger that loses more than the bound on the base test split beyond chance', () => {
    // The challenger misses 15 more of each 200-item class: −7.5 points overall; 7.5 per class is past the recall bound
    // but not significant within one class after Bonferroni (35 vs 20, p = 0.029), while the whole split is.
    const worse = evaluated('base-test', 200, { champion: [20, 20, 20], challenger: [35, 35, 35] });
    const verdict = decideGate(outputs(worse, goodHoldout()), GATE, LABELS);
    expect(verdict.promote).toBe(false);
    const failed = verdict.checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.check)).toEqual(['base-test-loss']);
    expect(failed[0]!.value).toBeCloseTo(7.5, 9);
    // scipy.stats.binomtest(105, 165, 0.5, alternative='greater').pvalue = 0.0002861057816187533
    expect(verdict.reason).toBe(
      'base test: lost 7.5 points against the champion (82.5% vs 90.0%; may lose at most 1; McNemar p = 2.9e-4, significant at 0.05; 105 only the champion got right, 60 only the challenger)',
    );
  });

  it('passes a loss past the bound on the base test split that McNemar does not find significant, saying so', () => {
    // −2.5 points: 75 items only the champion got right, 60 only the challenger; p = 0.114 (scipy binomtest).
    const worse = evaluated('base-test', 200, { champion: [20, 20, 20], challenger: [25, 25, 25] });
    const verdict = decideGate(outputs(worse, goodHoldout()), GATE, LABELS);
    expect(verdict.promote).toBe(true);
    const loss = verdict.checks.find((c) => c.check === 'base-test-loss')!;
    expect(loss.value).toBeCloseTo(2.5, 9);
    expect(loss.detail).toBe('base test: lost 2.5 points against the champion (87.5% vs 90.0%; may lose at most 1; McNemar p = 0.11, not significant at 0.05; 75 only the champion got right, 60 only the challenger)');
  });

  it("refuses a challenger when one class's recall falls by more than the bound beyond chance, naming the class", () => {
    // Shirt: 25 more misses of 200 = −12.5 points; T-shirt and Trouser gain them back, so overall accuracy is unchanged.
    const shifted = evaluated('base-test', 200, { champion: [20, 20, 20], challenger: [0, 15, 45] });
    const verdict = decideGate(outputs(shifted, goodHoldout()), GATE, LABELS);
    expect(verdict.promote).toBe(false);
    const failed = verdict.checks.filter((c) => !c.passed);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ check: 'class-recall', bound: 5 });
    expect(failed[0]!.value).toBeCloseTo(12.5, 9);
    // scipy.stats.binomtest(45, 65, 0.5, alternative='greater').pvalue = 0.0013131884053420187 < 0.05 / 3
    expect(verdict.reason).toBe('Shirt recall fell 12.5 points (bound 5; McNemar p = 0.0013 on its items, significant at 0.017 = 0.05 / 3 classes; 45 only the champion got right, 20 only the challenger)');
    expect(verdict.checks.filter((c) => c.check === 'class-recall').map((c) => c.detail)).toEqual([
      'T-shirt recall rose 10.0 points (bound 5)',
      'Trouser recall rose 2.5 points (bound 5)',
      verdict.reason,
    ]);
  });

  it("passes a class's fall past the bound that its paired items do not make significant after Bonferroni, saying so", () => {
    // Shirt falls 7.5 points: 35 only the champion, 20 only the challenger; p = 0.029 (scipy binomtest) is under 0.05
    // but not under 0.05 / 3.
    const shifted = evaluated('base-test', 200, { champion: [20, 20, 20], challenger: [5, 20, 35] });
    const verdict = decideGate(outputs(shifted, goodHoldout()), GATE, LABELS);
    expect(verdict.promote).toBe(true);
    const shirt = verdict.checks.filter((c) => c.check === 'class-recall')[2]!;
    expect(shirt.value).toBeCloseTo(7.5, 9);
    expect(shirt.detail).toBe('Shirt recall fell 7.5 points (bound 5; McNemar p = 0.029 on its items, not significant at 0.017 = 0.05 / 3 classes; 35 only the champion got right, 20 only the challenger)');
    // Without the per-class pairs (outputs recorded before they were kept) the same fall is held as real.
    const { perClassPaired: _, ...unpaired } = shifted;
    const strict = decideGate(outputs(unpaired, goodHoldout()), GATE, LABELS);
    expect(strict.promote).toBe(false);
    expect(strict.reason).toBe('Shirt recall fell 7.5 points (bound 5)');
  });

  it('skips classes with no test items', () => {
    const base = steadyBaseTest();
    base.champion.perClassRecall[1] = null;
    base.challenger.perClassRecall[1] = null;
    const verdict = decideGate(outputs(base, goodHoldout()), GATE, LABELS);
    expect(verdict.checks.filter((c) => c.check === 'class-recall').map((c) => c.detail.split(' ')[0])).toEqual(['T-shirt', 'Shirt']);
    expect(verdict.promote).toBe(true);
  });

  it('refuses when the holdout is empty, saying so', () => {
    const empty = evaluated('holdout', 0, { champion: [0, 0, 0], challenger: [0, 0, 0] });
    for (const evaluation of [outputs(steadyBaseTest(), empty), outputs(steadyBaseTest())]) {
      const verdict = decideGate(evaluation, GATE, LABELS);
      expect(verdict.promote).toBe(false);
      expect(verdict.checks.filter((c) => !c.passed).map((c) => c.check)).toEqual(['holdout-gain', 'holdout-significance']);
      expect(verdict.reason).toBe('the holdout is empty: too few reviewed items with images were kept out of training to compare the models on recent data');
    }
  });

  it('gives every failed reason when several checks fail', () => {
    const worse = evaluated('base-test', 200, { champion: [20, 20, 20], challenger: [20, 20, 50] });
    const flat = evaluated('holdout', 100, { champion: [30, 30, 30], challenger: [30, 30, 30] });
    const verdict = decideGate(outputs(worse, flat), GATE, LABELS);
    expect(verdict.promote).toBe(false);
    expect(verdict.checks.filter((c) => !c.passed).map((c) => c.check)).toEqual(['holdout-gain', 'holdout-significance', 'base-test-loss', 'class-recall']);
    for (const check of verdict.checks.filter((c) => !c.passed)) expect(verdict.reason).toContain(check.detail);
    // scipy.stats.binomtest(50, 70, 0.5, alternative='greater').pvalue = 0.00022014250325698418
    expect(verdict.reason).toContain('Shirt recall fell 15.0 points (bound 5; McNemar p = 2.2e-4 on its items, significant');
  });

  it('does not gate on the reweighted test set', () => {
    const reweighted = { ...evaluated('reweighted-test', 200, { champion: [0, 0, 0], challenger: [100, 100, 100] }), priors: [0.2, 0.3, 0.5] };
    const verdict = decideGate(outputs(steadyBaseTest(), goodHoldout(), reweighted), GATE, LABELS);
    expect(verdict.promote).toBe(true);
    expect(verdict).toEqual(decideGate(outputs(steadyBaseTest(), goodHoldout()), GATE, LABELS));
  });
});

describe("McNemar's exact test (one-sided: the challenger is better)", () => {
  // scipy 1.17.1: scipy.stats.binomtest(challengerOnly, championOnly + challengerOnly, 0.5, alternative='greater').pvalue
  const cases: [number, number, number][] = [
    [3, 12, 0.017578125],
    [10, 25, 0.008336923900060357],
    [5, 5, 0.623046875],
    [0, 7, 0.0078125],
    [0, 4, 0.0625],
    [40, 60, 0.028443966820490444],
    [1, 0, 1.0],
    [120, 180, 0.0003171100034641783],
    [2, 30, 1.2316741049289703e-7],
  ];
  it.each(cases)('championOnly %d, challengerOnly %d: p matches scipy to 1e-12 relative', (championOnly, challengerOnly, expected) => {
    const p = mcnemarExactP(championOnly, challengerOnly);
    expect(Math.abs(p - expected) / expected, `${p} vs ${expected}`).toBeLessThan(1e-12);
  });

  it('is 1 with no discordant pairs', () => {
    expect(mcnemarExactP(0, 0)).toBe(1);
  });

  it('equals the upper binomial tail summed term by term in log space', () => {
    // P(X >= c), X ~ Bin(n, 1/2) = Σ_{k=c..n} C(n, k) / 2^n, each term from log-factorials.
    const logFactorial = (k: number) => {
      let s = 0;
      for (let i = 2; i <= k; i++) s += Math.log(i);
      return s;
    };
    const upperTail = (n: number, c: number) => {
      let sum = 0;
      for (let k = c; k <= n; k++) sum += Math.exp(logFactorial(n) - logFactorial(k) - logFactorial(n - k) - n * Math.LN2);
      return sum;
    };
    for (const [b, c] of [[7, 19], [33, 41], [0, 50], [60, 40], [250, 300]] as const) {
      expect(Math.abs(mcnemarExactP(b, c) - upperTail(b + c, c)) / upperTail(b + c, c)).toBeLessThan(1e-9);
    }
  });
});
