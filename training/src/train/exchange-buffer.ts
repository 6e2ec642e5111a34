/**
 * The shared memory through which data-parallel replicas exchange gradients and epoch statistics. The coordinator
 * (train.ts) allocates it; every replica (replica.worker.ts) views it the same way through these functions.
 * Layout: GRADIENT_REGIONS regions of `replicas` gradients ([paramCount] float32 each), then
 * [replicas, STATS_PER_REPLICA] float64.
 */

/** Two gradient regions used alternately, so a fast replica never overwrites a region another is still reading. */
const GRADIENT_REGIONS = 2;
/** Offsets of a replica's epoch statistics within its STATS_PER_REPLICA float64 slots. */
export const STAT = { trainLossSum: 0, trainCorrect: 1, valLossSum: 2, valCorrect: 3 } as const;
/** Per replica: [train loss sum, train correct, val loss sum, val correct] (the offsets of STAT). */
export const STATS_PER_REPLICA = Object.keys(STAT).length;
const FLOAT32_BYTES = Float32Array.BYTES_PER_ELEMENT;
const FLOAT64_BYTES = Float64Array.BYTES_PER_ELEMENT;

export function exchangeBufferBytes(replicas: number, paramCount: number): number {
  return GRADIENT_REGIONS * replicas * paramCount * FLOAT32_BYTES + replicas * STATS_PER_REPLICA * FLOAT64_BYTES;
}

/** The gradient slot of `replica` for `step`: [paramCount] float32. */
export function gradientRegion(buffer: SharedArrayBuffer, replicas: number, paramCount: number, step: number, replica: number): Float32Array {
  return new Float32Array(buffer, ((step % GRADIENT_REGIONS) * replicas + replica) * paramCount * FLOAT32_BYTES, paramCount);
}

/** [replicas, STATS_PER_REPLICA] float64, after the gradient regions. */
export function replicaStats(buffer: SharedArrayBuffer, replicas: number, paramCount: number): Float64Array {
  return new Float64Array(buffer, GRADIENT_REGIONS * replicas * paramCount * FLOAT32_BYTES, replicas * STATS_PER_REPLICA);
}
