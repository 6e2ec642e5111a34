/**
 * Tail probabilities for the monitoring tests. Chi-square survival is @stdlib's regularized upper incomplete gamma
 * (@stdlib has a chi-square CDF but no survival function, and 1 − CDF loses the far tail). The Kolmogorov
 * distribution's survival function is written here: no @stdlib package offers the Kolmogorov limit distribution
 * (@stdlib/stats-kstest is a one-sample test and exports no distribution; two-sample.ts needs the asymptotic one). Float64.
 */
import gammainc from '@stdlib/math-base-special-gammainc';

/**
 * Chi-square survival function P(X² ≥ x) with `dof` degrees of freedom: the regularized upper incomplete gamma
 * Q(dof/2, x/2) (as scipy.stats.chi2.sf), computed on the upper side so far-tail probabilities (1e-100) keep their
 * relative accuracy. x = +∞ gives 0 (gammainc itself returns NaN there). O(1)–O(√dof).
 */
export function chiSquareSurvival(x: number, dof: number): number {
  if (!(dof > 0)) throw new Error(`dof must be > 0, got ${dof}`);
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  return gammainc(x / 2, dof / 2, true, true);
}

/**
 * Survival function of the Kolmogorov distribution, Q(λ) = P(K > λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2 j² λ²}
 * (as scipy.special.kolmogorov). For λ < 1 the alternating series converges slowly, so the Jacobi theta form
 * P(K ≤ λ) = √(2π)/λ Σ_{j≥1} e^{−(2j−1)² π² / (8 λ²)} is used and Q = 1 − P. Absolute error < 1e-16.
 * O(1) (at most a few dozen terms).
 */
export function kolmogorovSurvival(lambda: number): number {
  if (Number.isNaN(lambda)) return Number.NaN;
  if (lambda <= 0) return 1;
  if (lambda < 1) {
    const k = -(Math.PI * Math.PI) / (8 * lambda * lambda);
    let sum = 0;
    for (let j = 1; j < 100; j++) {
      const term = Math.exp((2 * j - 1) * (2 * j - 1) * k);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum;
  }
  let sum = 0;
  for (let j = 1; j < 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    sum += j % 2 === 1 ? term : -term;
    if (term < 1e-17 * Math.abs(sum)) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}
