/**
 * Diversity of a batch of reviews: greedy k-center (farthest-first traversal, Gonzalez 1985, a 2-approximation of the
 * k-center objective) on the embeddings projected onto the reference profile's PCA basis, so a batch served from the
 * review queue is not near-copies of one picture. Serving order only: which predictions are queued, and their π, are
 * decided before (review-policy.ts), so diversity never biases the estimates from labels.
 */

/**
 * Indices of `k` of the n points [n, r] (row-major) in farthest-first order: `first`, then each time the point whose
 * distance to the nearest point chosen so far is largest (ties: the lower index, so an uncertainty-sorted input keeps
 * the more doubtful). `weights` [n] (optional, >= 0) scale that distance, so a doubtful point a little nearer can win
 * over a confident one farther away. O(n·k·r).
 */
export function kCenterOrder(points: Float64Array, n: number, r: number, k: number, first = 0, weights?: ArrayLike<number>): number[] {
  if (points.length !== n * r) throw new RangeError(`points must hold n*r = ${n * r} values, got ${points.length}`);
  if (n === 0 || k <= 0) return [];
  if (!(first >= 0 && first < n)) throw new RangeError(`first must be an index below ${n}, got ${first}`);
  if (weights && weights.length !== n) throw new RangeError(`weights must hold n = ${n} values, got ${weights.length}`);
  const nearest = new Float64Array(n).fill(Infinity);
  const chosen: number[] = [];
  const taken = new Uint8Array(n);
  let next = first;
  while (chosen.length < Math.min(k, n)) {
    chosen.push(next);
    taken[next] = 1;
    let best = -1;
    let bestDistance = -1;
    for (let i = 0; i < n; i++) {
      if (taken[i]) continue;
      const d = squaredDistance(points, i, next, r);
      if (d < nearest[i]!) nearest[i] = d;
      // Squared distances: a weight w scales the distance by w, so the squared one by w².
      const score = weights ? nearest[i]! * weights[i]! * weights[i]! : nearest[i]!;
      if (score > bestDistance) {
        bestDistance = score;
        best = i;
      }
    }
    if (best < 0) break;
    next = best;
  }
  return chosen;
}

/** The smallest distance between two of the chosen points [n, r] (a batch's spread: larger is less redundant). O(k²·r). */
export function minPairwiseDistance(points: Float64Array, r: number, indices: readonly number[]): number {
  let min = Infinity;
  for (let a = 0; a < indices.length; a++) for (let b = a + 1; b < indices.length; b++) min = Math.min(min, squaredDistance(points, indices[a]!, indices[b]!, r));
  return Math.sqrt(min);
}

function squaredDistance(points: Float64Array, i: number, j: number, r: number): number {
  let sum = 0;
  for (let c = 0; c < r; c++) {
    const diff = points[i * r + c]! - points[j * r + c]!;
    sum += diff * diff;
  }
  return sum;
}

/**
 * Candidates (sorted most doubtful first) re-ordered for a batch of `k`: farthest-first on their projected
 * coordinates [r] starting from the most doubtful, each distance weighted by the candidate's `weight` (its
 * uncertainty; 1 when not given), then the rest in their order. Candidates without coordinates (no profile, another
 * embedding size) follow in their order. O(n·k·r).
 */
export function diverseOrder<T>(candidates: readonly T[], coordinates: (candidate: T) => Float64Array | null, k: number, weight?: (candidate: T) => number): T[] {
  const placed: { candidate: T; at: number }[] = [];
  const rest: T[] = [];
  let r = -1;
  candidates.forEach((candidate, at) => {
    const x = coordinates(candidate);
    if (x && (r < 0 || x.length === r)) {
      r = x.length;
      placed.push({ candidate, at });
    } else rest.push(candidate);
  });
  if (placed.length < 2) return [...candidates];
  const points = new Float64Array(placed.length * r);
  placed.forEach((p, i) => points.set(coordinates(p.candidate)!, i * r));
  const weights = weight ? Float64Array.from(placed, (p) => Math.max(0, weight(p.candidate))) : undefined;
  const order = kCenterOrder(points, placed.length, r, k, 0, weights);
  const picked = new Set(order);
  return [...order.map((i) => placed[i]!.candidate), ...placed.filter((_, i) => !picked.has(i)).map((p) => p.candidate), ...rest];
}
