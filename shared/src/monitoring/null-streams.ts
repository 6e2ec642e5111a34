/**
 * Null streams for calibrating thresholds (design §3): in-distribution events as production sends them, in device
 * blocks. A stream is a sequence of sessions; each session belongs to one of `devices` devices and lasts a
 * Geometric(1/meanSessionLength) number of events; with probability clusterSessionShare its events all come from one
 * k-means cluster of the reference (one place, one kind of object), else uniformly from the reference. The device cap
 * is applied exactly as in production, and a stream ends after `horizon` admitted events.
 */
import { mulberry32 } from '../seeded-random';
import { DeviceCap } from './device-cap';

/**
 * Lloyd's k-means on rows [n, dim] from k seeded distinct starting rows, `iterations` rounds; returns each row's
 * cluster [n] (clusters left empty keep no rows). O(iterations · n · k · dim).
 */
export function kMeansClusters(rows: Float64Array, n: number, dim: number, k: number, seed: number, iterations = 10): Int32Array {
  const clusters = Math.max(1, Math.min(k, n));
  const random = mulberry32(seed);
  const centres = new Float64Array(clusters * dim);
  const chosen = new Set<number>();
  for (let c = 0; c < clusters; c++) {
    let row = Math.floor(random() * n);
    while (chosen.has(row)) row = (row + 1) % n;
    chosen.add(row);
    centres.set(rows.subarray(row * dim, (row + 1) * dim), c * dim);
  }
  const assignment = new Int32Array(n);
  const sums = new Float64Array(clusters * dim);
  const sizes = new Int32Array(clusters);
  for (let round = 0; round < iterations; round++) {
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestDistance = Infinity;
      for (let c = 0; c < clusters; c++) {
        let sum = 0;
        for (let j = 0; j < dim; j++) sum += (rows[i * dim + j]! - centres[c * dim + j]!) ** 2;
        if (sum < bestDistance) [best, bestDistance] = [c, sum];
      }
      assignment[i] = best;
    }
    sums.fill(0);
    sizes.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignment[i]!;
      sizes[c]!++;
      for (let j = 0; j < dim; j++) sums[c * dim + j]! += rows[i * dim + j]!;
    }
    for (let c = 0; c < clusters; c++) if (sizes[c]! > 0) for (let j = 0; j < dim; j++) centres[c * dim + j] = sums[c * dim + j]! / sizes[c]!;
  }
  return assignment;
}

export interface NullStreamShape {
  horizon: number;
  window: number;
  deviceCap: number;
  devices: number;
  meanSessionLength: number;
  clusterSessionShare: number;
}

/** Draws null streams of row indices into a reference pool whose rows are grouped by cluster. */
export class NullStreamSampler {
  /** Rows of each cluster, concatenated [n], and where each cluster starts [clusters + 1]. */
  private readonly members: Int32Array;
  private readonly starts: Int32Array;
  private readonly clusterOf: Int32Array;
  private readonly devices: number;

  constructor(
    clusterOf: Int32Array,
    readonly shape: NullStreamShape,
  ) {
    const clusters = clusterOf.reduce((max, c) => Math.max(max, c), 0) + 1;
    this.clusterOf = clusterOf;
    this.starts = new Int32Array(clusters + 1);
    for (const c of clusterOf) this.starts[c + 1]!++;
    for (let c = 0; c < clusters; c++) this.starts[c + 1]! += this.starts[c]!;
    const next = this.starts.slice(0, clusters);
    this.members = new Int32Array(clusterOf.length);
    clusterOf.forEach((c, row) => (this.members[next[c]!++] = row));
    // Enough devices that the cap never starves a stream: each may hold floor(cap·window) of a full window.
    this.devices = Math.max(shape.devices, Math.ceil(2 / shape.deviceCap));
  }

  /**
   * One stream: the admitted events' rows, in order, `horizon` of them (fewer only if 100·horizon arrivals did not
   * fill it). O(arrivals).
   */
  stream(random: () => number): Int32Array {
    const { horizon, window, deviceCap, meanSessionLength, clusterSessionShare } = this.shape;
    const cap = new DeviceCap(window, deviceCap);
    const out = new Int32Array(horizon);
    const n = this.clusterOf.length;
    const stop = 1 - 1 / meanSessionLength;
    let admitted = 0;
    let arrivals = 0;
    while (admitted < horizon && arrivals < 100 * horizon) {
      const device = Math.floor(random() * this.devices);
      const fromCluster = random() < clusterSessionShare;
      const cluster = this.clusterOf[Math.floor(random() * n)]!;
      const first = this.starts[cluster]!;
      const size = this.starts[cluster + 1]! - first;
      do {
        const row = fromCluster ? this.members[first + Math.floor(random() * size)]! : Math.floor(random() * n);
        arrivals++;
        if (cap.admit(device)) out[admitted++] = row;
      } while (admitted < horizon && random() < stop);
    }
    return admitted === horizon ? out : out.slice(0, admitted);
  }
}
