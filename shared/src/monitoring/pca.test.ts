import { describe, expect, it } from 'vitest';
import { Matrix } from 'ml-matrix';
import { mulberry32 } from '../seeded-random';
import { fitPca, fitPcaSubspace, meanAndCovariance, projectRows, symmetricEigen } from './pca';

/** Standard normals by the polar (Marsaglia) method, so rows are reproducible from a seed. */
function normals(random: () => number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; ) {
    const u = 2 * random() - 1;
    const v = 2 * random() - 1;
    const s = u * u + v * v;
    if (s === 0 || s >= 1) continue;
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    out[i++] = u * f;
    if (i < count) out[i++] = v * f;
  }
  return out;
}

/** A random orthogonal d×d matrix (rows orthonormal) by Gram–Schmidt on Gaussian rows. */
function orthogonalRows(d: number, seed: number): Float64Array {
  const q = normals(mulberry32(seed), d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += q[i * d + k]! * q[j * d + k]!;
      for (let k = 0; k < d; k++) q[i * d + k] = q[i * d + k]! - dot * q[j * d + k]!;
    }
    let norm = 0;
    for (let k = 0; k < d; k++) norm += q[i * d + k]! ** 2;
    for (let k = 0; k < d; k++) q[i * d + k] = q[i * d + k]! / Math.sqrt(norm);
  }
  return q;
}

describe('symmetricEigen', () => {
  it('diagonalizes a random symmetric 64×64 matrix: A·v = λ·v to 1e-10, V orthonormal, descending values', () => {
    const d = 64;
    const g = normals(mulberry32(3), d * d);
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i * d + j] = g[i * d + j]! + g[j * d + i]!;
    const { values, vectors } = symmetricEigen(Matrix.from1DArray(d, d, a));
    let worst = 0;
    for (let e = 0; e < d; e++) {
      if (e > 0) expect(values[e]!).toBeLessThanOrEqual(values[e - 1]!);
      for (let i = 0; i < d; i++) {
        let av = 0;
        for (let k = 0; k < d; k++) av += a[i * d + k]! * vectors[e * d + k]!;
        worst = Math.max(worst, Math.abs(av - values[e]! * vectors[e * d + i]!));
      }
      for (let f = 0; f <= e; f++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += vectors[e * d + k]! * vectors[f * d + k]!;
        expect(Math.abs(dot - (e === f ? 1 : 0))).toBeLessThan(1e-12);
      }
    }
    expect(worst).toBeLessThan(1e-10);
  });

  it('makes the largest-|value| coordinate of every vector positive', () => {
    const { values, vectors } = symmetricEigen(new Matrix([[2, -1, 0], [-1, 2, -1], [0, -1, 2]]));
    expect(Array.from(values)).toEqual([2 + Math.SQRT2, 2, 2 - Math.SQRT2].map((v) => expect.closeTo(v, 12)));
    for (let e = 0; e < 3; e++) {
      const row = Array.from(vectors.subarray(e * 3, e * 3 + 3));
      const largest = row.reduce((best, v, k) => (Math.abs(v) > Math.abs(row[best]!) + 1e-12 ? k : best), 0);
      expect(row[largest]!).toBeGreaterThan(0);
    }
  });

  it('refuses a matrix that is not square, not exactly symmetric or not finite', () => {
    expect(() => symmetricEigen(new Matrix([[1, 2, 3]]))).toThrow(/square/);
    expect(() => symmetricEigen(new Matrix([[1, 2], [2 + 1e-15, 1]]))).toThrow(/symmetric/);
    expect(() => symmetricEigen(new Matrix([[1, Number.NaN], [Number.NaN, 1]]))).toThrow(/finite/);
  });
});

describe('fitPca / projectRows', () => {
  it('computes mean, covariance, axis and projection on a tiny hand example', () => {
    // rows (0,0), (2,1), (4,2): μ = (2,1), Σ = [[4,2],[2,1]], eigenvalues 5 and 0, axis (2,1)/√5,
    // projections −√5, 0, √5.
    const rows = Float64Array.from([0, 0, 2, 1, 4, 2]);
    const { mean, covariance } = meanAndCovariance(rows, 3, 2);
    expect(Array.from(mean)).toEqual([2, 1]);
    expect(covariance.to1DArray()).toEqual([4, 2, 2, 1]);
    const basis = fitPca(rows, 3, 2, { components: 1 });
    expect(basis.explainedVariance[0]).toBeCloseTo(5, 12);
    expect(basis.explainedVarianceRatio[0]).toBeCloseTo(1, 12);
    expect(basis.axes[0]).toBeCloseTo(2 / Math.sqrt(5), 12);
    expect(basis.axes[1]).toBeCloseTo(1 / Math.sqrt(5), 12);
    const projected = projectRows(basis, rows, 3);
    [-Math.sqrt(5), 0, Math.sqrt(5)].forEach((value, i) => expect(projected[i]).toBeCloseTo(value, 12));
  });

  it('recovers known orthogonal axes and variances from 100,000 rows in 8-d (|cos| > 0.999, variances within 2%)', () => {
    const d = 8;
    const n = 100_000;
    const variances = [16, 9, 4, 2, 1, 0.5, 0.25, 0.1];
    const axes = orthogonalRows(d, 11);
    const shift = Float64Array.from({ length: d }, (_, k) => 3 - k);
    const z = normals(mulberry32(12), n * d);
    const rows = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < d; c++) {
        const scale = Math.sqrt(variances[c]!) * z[i * d + c]!;
        for (let k = 0; k < d; k++) rows[i * d + k] = rows[i * d + k]! + scale * axes[c * d + k]!;
      }
      for (let k = 0; k < d; k++) rows[i * d + k] = rows[i * d + k]! + shift[k]!;
    }
    const basis = fitPca(rows, n, d, { components: d });
    const total = variances.reduce((s, v) => s + v, 0);
    let worstCos = 1;
    let worstRelative = 0;
    for (let c = 0; c < d; c++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += basis.axes[c * d + k]! * axes[c * d + k]!;
      worstCos = Math.min(worstCos, Math.abs(dot));
      worstRelative = Math.max(worstRelative, Math.abs(basis.explainedVariance[c]! / variances[c]! - 1));
      expect(basis.explainedVarianceRatio[c]).toBeCloseTo(variances[c]! / total, 2);
    }
    for (let k = 0; k < d; k++) expect(Math.abs(basis.mean[k]! - shift[k]!)).toBeLessThan(0.05);
    expect(worstCos).toBeGreaterThan(0.999);
    expect(worstRelative).toBeLessThan(0.02);
    console.info(`PCA 8-d n=100k: worst |cos| ${worstCos.toFixed(6)}, worst variance error ${(worstRelative * 100).toFixed(2)}%`);
    const projected = projectRows(basis, rows, n);
    let first = 0;
    for (let i = 0; i < n; i++) first += projected[i * d]! ** 2;
    expect(first / (n - 1)).toBeCloseTo(basis.explainedVariance[0]!, 8);
  });

  it('decomposes a 256-d covariance', () => {
    const d = 256;
    const n = 600;
    const rows = normals(mulberry32(5), n * d);
    for (let i = 0; i < n; i++) rows[i * d] = rows[i * d]! * 5;
    const started = performance.now();
    const basis = fitPca(rows, n, d, { components: 16 });
    console.info(`PCA d=256 n=600: ${(performance.now() - started).toFixed(0)} ms`);
    expect(Math.abs(basis.axes[0]!)).toBeGreaterThan(0.99);
    expect(basis.explainedVariance[0]).toBeGreaterThan(20);
  });

  it('subspace iteration finds the axes and variances the full decomposition finds where the spectrum has gaps', () => {
    const random = mulberry32(12);
    const n = 2000;
    const d = 48;
    // Variances 40, 30, ..., then 1: the six leading axes are well separated from the rest.
    const scales = Array.from({ length: d }, (_, k) => (k < 6 ? Math.sqrt(40 - 6 * k) : 1));
    const z = normals(random, n * d);
    const rows = Float64Array.from(z, (v, i) => v * scales[i % d]! + 0.1 * (i % d));
    const exact = fitPca(rows, n, d, { components: 6 });
    const fast = fitPcaSubspace(rows, n, d, { components: 6, seed: 3 });
    for (let c = 0; c < 6; c++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += exact.axes[c * d + k]! * fast.axes[c * d + k]!;
      expect(dot).toBeGreaterThan(1 - 1e-8);
      expect(fast.explainedVariance[c]).toBeCloseTo(exact.explainedVariance[c]!, 8);
    }
    expect(Array.from(fast.mean)).toEqual(Array.from(exact.mean));
    expect(fitPcaSubspace(rows, n, d, { components: 6, seed: 3 })).toEqual(fast);
  });
});
