/**
 * The gate between champion and challenger: promote only if the challenger beats the champion on the recent holdout
 * by a margin, significantly by McNemar's exact test, loses at most a set number of points on the base test split,
 * and no class's recall drops by more than a set number of points (the last two beyond chance: a small test split
 * swings by a few points between two models that are equally good). Each refusal reason is a failed check.
 *
 * The 'reweighted-test' set (the base test split weighted to the champion stream's estimated class priors) is
 * reported beside the verdict but not gated: its priors are an estimate from unlabelled predictions, and the holdout
 * already judges the models on the data devices see now with real labels.
 */
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import type { GateCheck, GateVerdict, PipelineSettings } from './pipeline';
import type { EvaluateOutputs, EvaluationSet, EvaluationSetResult } from './pipeline-steps';

/** Accuracy differences are float sums: a value this close to its bound counts as on it. */
const TOLERANCE = 1e-9;

/**
 * McNemar's exact test, one-sided (the challenger is better): among the n = championOnly + challengerOnly discordant
 * pairs, each is the challenger's with probability 1/2 under the null, so p = P(X >= challengerOnly), X ~ Bin(n, 1/2).
 * By symmetry that is P(X <= championOnly), taken from the CDF directly (no 1 − CDF cancellation in the far tail).
 * No discordant pair: p = 1.
 */
export function mcnemarExactP(championOnly: number, challengerOnly: number): number {
  const n = championOnly + challengerOnly;
  if (n === 0) return 1;
  return Math.min(1, binomialCdf(championOnly, n, 0.5));
}

const points = (accuracy: number) => accuracy * 100;
const fixed1 = (x: number) => x.toFixed(1);
/** A bound as people set it: 5, 0.5 (no trailing zeros). */
const short = (x: number) => String(Number(x.toFixed(2)));
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${fixed1(Math.abs(x))}`;
const pValue = (p: number) => (p < 0.001 ? p.toExponential(1) : p.toPrecision(2).replace(/\.?0+$/, ''));

export function decideGate(evaluation: EvaluateOutputs, gate: PipelineSettings['gate'], labels: readonly string[]): GateVerdict {
  const set = (name: EvaluationSet): EvaluationSetResult | undefined => evaluation.sets.find((s) => s.set === name);
  const checks: GateCheck[] = [...holdoutChecks(set('holdout'), gate), baseTestCheck(set('base-test'), gate), ...classRecallChecks(set('base-test'), gate, labels)];
  const failed = checks.filter((c) => !c.passed);
  const promote = failed.length === 0;
  const reason = promote
    ? `the challenger passed every check: ${checks
        .filter((c) => c.check !== 'class-recall')
        .map((c) => c.detail)
        .join('; ')}; no class's recall fell significantly more than ${short(gate.maxClassRecallDrop)} points`
    : [...new Set(failed.map((c) => c.detail))].join('; ');
  return { promote, checks, reason };
}

/** The margin over the champion on the recent holdout, and McNemar's test on the paired predictions. */
function holdoutChecks(holdout: EvaluationSetResult | undefined, gate: PipelineSettings['gate']): GateCheck[] {
  if (!holdout || holdout.items === 0) {
    const why = `the holdout is empty: too few reviewed items with images were kept out of training to compare the models on recent data`;
    return [
      { check: 'holdout-gain', passed: false, value: 0, bound: gate.minHoldoutGain, detail: why },
      { check: 'holdout-significance', passed: false, value: 1, bound: gate.alpha, detail: why },
    ];
  }
  const gain = points(holdout.challenger.accuracy) - points(holdout.champion.accuracy);
  const p = mcnemarExactP(holdout.championOnly, holdout.challengerOnly);
  const gainPassed = gain >= gate.minHoldoutGain - TOLERANCE;
  const significant = p < gate.alpha;
  const pairs = `${holdout.challengerOnly} items only the challenger got right, ${holdout.championOnly} only the champion`;
  return [
    {
      check: 'holdout-gain',
      passed: gainPassed,
      value: gain,
      bound: gate.minHoldoutGain,
      detail: `holdout: ${signed(gain)} points over the champion on ${holdout.items} recent items (needs ${signed(gate.minHoldoutGain)})`,
    },
    {
      check: 'holdout-significance',
      passed: significant,
      value: p,
      bound: gate.alpha,
      detail: `holdout: McNemar p = ${pValue(p)} (needs < ${pValue(gate.alpha)}; ${pairs})`,
    },
  ];
}

/**
 * The challenger may lose at most maxBaseTestLoss points on the base version's test split, unless the loss is within
 * chance: a loss past the bound fails when McNemar's exact test on the split's paired items finds the champion better
 * at alpha. On 10,000 test items a 1-point loss is always significant; on 500, one point is 5 images and the paired
 * standard error about a point.
 */
function baseTestCheck(baseTest: EvaluationSetResult | undefined, gate: PipelineSettings['gate']): GateCheck {
  if (!baseTest || baseTest.items === 0) {
    return { check: 'base-test-loss', passed: false, value: 0, bound: gate.maxBaseTestLoss, detail: 'base test: the base dataset version has no test items to compare the models on' };
  }
  const loss = points(baseTest.champion.accuracy) - points(baseTest.challenger.accuracy);
  const change = loss > 0 ? `lost ${fixed1(loss)} points` : `${signed(-loss)} points`;
  const detail = `base test: ${change} against the champion (${fixed1(points(baseTest.challenger.accuracy))}% vs ${fixed1(points(baseTest.champion.accuracy))}%; may lose at most ${short(gate.maxBaseTestLoss)}`;
  if (loss <= gate.maxBaseTestLoss + TOLERANCE) return { check: 'base-test-loss', passed: true, value: loss, bound: gate.maxBaseTestLoss, detail: `${detail})` };
  const { real, words } = championBetter(baseTest, gate.alpha, { level: pValue(gate.alpha) });
  return { check: 'base-test-loss', passed: !real, value: loss, bound: gate.maxBaseTestLoss, detail: `${detail}; ${words})` };
}

/**
 * One check per class with test items: its recall on the base test split may not fall by more than
 * maxClassRecallDrop points, unless the fall is within chance. A fall past the bound fails the check when McNemar's
 * exact test on the class's own paired items (items of the class only the champion got right vs only the
 * challenger) finds the champion better at alpha / K, K the classes tested (Bonferroni: ten classes each tested at
 * 0.05 would find a harmless challenger's class worse up to 40% of the time). At 1,000 test images per class a 5-point fall is
 * always significant; at 50, one image moves recall 2 points and a 10-point swing between two similar classes is
 * often noise. Outputs recorded without per-class pairs hold every fall past the bound as real.
 */
function classRecallChecks(baseTest: EvaluationSetResult | undefined, gate: PipelineSettings['gate'], labels: readonly string[]): GateCheck[] {
  if (!baseTest) return [];
  const tested = baseTest.champion.perClassRecall.flatMap((championRecall, c) => {
    const challengerRecall = baseTest.challenger.perClassRecall[c];
    return championRecall === null || challengerRecall === null || challengerRecall === undefined ? [] : [{ c, drop: points(championRecall) - points(challengerRecall) }];
  });
  const alpha = gate.alpha / Math.max(1, tested.length);
  return tested.map(({ c, drop }) => {
    const name = labels[c] ?? `class ${c}`;
    const moved = drop > 0 ? `fell ${fixed1(drop)} points` : drop < 0 ? `rose ${fixed1(-drop)} points` : 'did not change';
    const pastBound = drop > gate.maxClassRecallDrop + TOLERANCE;
    const paired = baseTest.perClassPaired?.[c];
    if (!pastBound || !paired) {
      return { check: 'class-recall', passed: !pastBound, value: drop, bound: gate.maxClassRecallDrop, detail: `${name} recall ${moved} (bound ${short(gate.maxClassRecallDrop)})` };
    }
    const { real, words } = championBetter(paired, alpha, { on: ' on its items', level: `${pValue(alpha)} = ${pValue(gate.alpha)} / ${tested.length} classes` });
    return { check: 'class-recall', passed: !real, value: drop, bound: gate.maxClassRecallDrop, detail: `${name} recall ${moved} (bound ${short(gate.maxClassRecallDrop)}; ${words})` };
  });
}

/**
 * Whether a loss past a bound is real: McNemar's exact test one-sided the other way round (is the champion better on
 * these paired items?) at `alpha`, and the test in words for the verdict.
 */
function championBetter(pairs: { championOnly: number; challengerOnly: number }, alpha: number, say: { on?: string; level: string }): { real: boolean; words: string } {
  const p = mcnemarExactP(pairs.challengerOnly, pairs.championOnly);
  const real = p < alpha;
  const words = `McNemar p = ${pValue(p)}${say.on ?? ''}, ${real ? '' : 'not '}significant at ${say.level}; ${pairs.championOnly} only the champion got right, ${pairs.challengerOnly} only the challenger`;
  return { real, words };
}
