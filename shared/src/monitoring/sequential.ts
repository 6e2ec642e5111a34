/**
 * Sequential change detectors that run event by event and persist between batches as plain JSON:
 * - a windowed multinomial generalized likelihood ratio (GLR) on the predicted-class mix against reference
 *   proportions π0;
 * - a Bernoulli CUSUM (Page 1954) on the low-confidence indicator.
 * Thresholds come from simulation under the reference (see null-simulation.ts), never from asymptotics.
 */

/**
 * Reference proportions from counts with a pseudo-count per class: π0_c = (n_c + a) / (n + aK), so a class never
 * seen in the reference still has π0_c > 0 and log π0_c is finite. counts K entries; returns K. O(K).
 */
export function referenceMixFromCounts(counts: ArrayLike<number>, pseudoCount = 0.5): Float64Array {
  const k = counts.length;
  if (k < 2) throw new Error(`counts has ${k} classes, expected at least 2`);
  if (!(pseudoCount > 0)) throw new Error(`pseudoCount = ${pseudoCount} must be > 0`);
  let total = 0;
  for (let c = 0; c < k; c++) {
    const n = counts[c]!;
    if (!(n >= 0) || !Number.isFinite(n)) throw new Error(`counts[${c}] = ${n} is not a finite number >= 0`);
    total += n;
  }
  const out = new Float64Array(k);
  for (let c = 0; c < k; c++) out[c] = (counts[c]! + pseudoCount) / (total + pseudoCount * k);
  return out;
}

function checkProportions(pi0: ArrayLike<number>): void {
  if (pi0.length < 2) throw new Error(`pi0 has ${pi0.length} classes, expected at least 2`);
  let sum = 0;
  for (let c = 0; c < pi0.length; c++) {
    const p = pi0[c]!;
    if (!(p > 0) || !Number.isFinite(p)) throw new Error(`pi0[${c}] = ${p} must be > 0 (use pseudo-counts)`);
    sum += p;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new Error(`pi0 sums to ${sum}, not 1`);
}

function checkThreshold(threshold: number | null | undefined): number {
  if (threshold === null || threshold === undefined) return Infinity;
  if (Number.isNaN(threshold)) throw new Error('threshold is NaN');
  return threshold;
}

/** x log x with 0 log 0 = 0. */
const xLogX = (x: number): number => (x > 0 ? x * Math.log(x) : 0);

export interface MixGlrOptions {
  /** Reference predicted-class proportions π0 (K entries, all > 0, summing to 1); see referenceMixFromCounts. */
  pi0: ArrayLike<number>;
  /** Window W: the statistic looks at the last m ≤ W events. Default 300. */
  window?: number;
  /** Smallest m considered (mMin). Default 20. */
  minWindow?: number;
  /** Alarm when G_n > threshold. Omit (or null) for a statistic-only detector that never alarms. */
  threshold?: number | null;
}

export interface MixGlrUpdate {
  /** G_n = max over mMin ≤ m ≤ min(n, W) of G(m); 0 while fewer than mMin events are held. */
  statistic: number;
  /** The m that attains G_n (the most recent m events); 0 while fewer than mMin events are held. */
  argmaxWindow: number;
  /** statistic > threshold. */
  alarm: boolean;
}

/** Plain-JSON state of MixGlrDetector; `labels` are the held labels, oldest first. */
export interface MixGlrState {
  kind: 'mixGlr';
  pi0: number[];
  window: number;
  minWindow: number;
  threshold: number | null;
  labels: number[];
  events: number;
}

/**
 * Windowed multinomial GLR for the predicted-class mix. Holds the last W labels in a ring buffer; after each
 * label it computes
 *   G_n = max_{mMin ≤ m ≤ min(n,W)} Σ_c N_c(m) log(N_c(m) / (m π0_c)),
 * N_c(m) = count of class c among the last m labels: the log-likelihood ratio of "the last m events follow their
 * own empirical mix" vs "they follow π0", maximised over the change point. Walking back from the newest label
 * keeps A = Σ N_c log N_c and B = Σ N_c log π0_c, each changed in O(1) per step, so G(m) = A − B − m log m.
 * Memory O(W + K); update O(W + K); labels are integers in [0, K).
 */
export class MixGlrDetector {
  readonly k: number;
  readonly window: number;
  readonly minWindow: number;
  threshold: number;
  private readonly pi0: Float64Array;
  private readonly logPi0: Float64Array;
  private readonly ring: Int32Array;
  private readonly counts: Int32Array;
  /** x log x for x = 0..W: counts are whole numbers ≤ W, so the O(W) walk looks logarithms up instead of computing them. */
  private readonly xLogXTable: Float64Array;
  /** Next slot to write. */
  private head = 0;
  private size = 0;
  /** Labels seen since creation (admitted events). */
  events = 0;

  constructor(options: MixGlrOptions) {
    checkProportions(options.pi0);
    const window = options.window ?? 300;
    const minWindow = options.minWindow ?? 20;
    if (!Number.isInteger(window) || window < 1) throw new Error(`window = ${window} must be an integer >= 1`);
    if (!Number.isInteger(minWindow) || minWindow < 1 || minWindow > window) throw new Error(`minWindow = ${minWindow} must be an integer in [1, window]`);
    this.k = options.pi0.length;
    this.window = window;
    this.minWindow = minWindow;
    this.threshold = checkThreshold(options.threshold);
    this.pi0 = Float64Array.from(options.pi0);
    this.logPi0 = this.pi0.map(Math.log);
    this.ring = new Int32Array(window);
    this.counts = new Int32Array(this.k);
    this.xLogXTable = Float64Array.from({ length: window + 1 }, (_, x) => xLogX(x));
  }

  /** Number of labels currently held (min(events, W)). */
  get held(): number {
    return this.size;
  }

  /** Pushes one label (O(1)) without computing the statistic; use for replaying history. */
  push(label: number): void {
    if (!Number.isInteger(label) || label < 0 || label >= this.k) throw new Error(`label ${label} is not an integer in [0, ${this.k})`);
    this.ring[this.head] = label;
    this.head = (this.head + 1) % this.window;
    if (this.size < this.window) this.size++;
    this.events++;
  }

  /** G_n and its argmax over the held labels, by the O(W + K) backward walk described on the class. */
  statistic(): { statistic: number; argmaxWindow: number } {
    const { counts, ring, logPi0, window, minWindow, size, xLogXTable } = this;
    counts.fill(0);
    let a = 0;
    let b = 0;
    let best = 0;
    let bestM = 0;
    let slot = this.head;
    for (let m = 1; m <= size; m++) {
      slot = slot === 0 ? window - 1 : slot - 1;
      const c = ring[slot]!;
      const n = counts[c]!;
      a += xLogXTable[n + 1]! - xLogXTable[n]!;
      b += logPi0[c]!;
      counts[c] = n + 1;
      if (m >= minWindow) {
        const g = a - b - xLogXTable[m]!;
        if (bestM === 0 || g > best) {
          best = g;
          bestM = m;
        }
      }
    }
    return { statistic: bestM === 0 ? 0 : best, argmaxWindow: bestM };
  }

  /** Pushes a label and returns G_n, its argmax m and the alarm flag. O(W + K). */
  update(label: number): MixGlrUpdate {
    this.push(label);
    const { statistic, argmaxWindow } = this.statistic();
    return { statistic, argmaxWindow, alarm: statistic > this.threshold };
  }

  /** Held labels, oldest first. O(W). */
  labels(): number[] {
    const out: number[] = [];
    let slot = (this.head - this.size + this.window) % this.window;
    for (let i = 0; i < this.size; i++) {
      out.push(this.ring[slot]!);
      slot = (slot + 1) % this.window;
    }
    return out;
  }

  /** Plain-JSON state (JSON.stringify-safe; an infinite threshold is stored as null). O(W + K). */
  toJSON(): MixGlrState {
    return {
      kind: 'mixGlr',
      pi0: Array.from(this.pi0),
      window: this.window,
      minWindow: this.minWindow,
      threshold: Number.isFinite(this.threshold) ? this.threshold : null,
      labels: this.labels(),
      events: this.events,
    };
  }

  /** Rebuilds a detector from toJSON's output; throws on a malformed state. O(W + K). */
  static fromJSON(state: MixGlrState): MixGlrDetector {
    if (state?.kind !== 'mixGlr') throw new Error(`state.kind = ${String(state?.kind)}, expected 'mixGlr'`);
    if (!Array.isArray(state.labels) || state.labels.length > state.window) throw new Error(`state.labels must be an array of at most window = ${state.window} labels`);
    if (!Number.isInteger(state.events) || state.events < state.labels.length) throw new Error(`state.events = ${state.events} must be an integer >= labels held`);
    const detector = new MixGlrDetector(state);
    for (const label of state.labels) detector.push(label);
    detector.events = state.events;
    return detector;
  }
}

export interface BernoulliCusumOptions {
  /** In-control probability of x = 1 (e.g. the reference low-confidence rate 0.2). */
  p0: number;
  /** Out-of-control probability to detect (e.g. 0.4); p1 ≠ p0. */
  p1: number;
  /** Alarm when S_t > threshold. Omit (or null) for a statistic-only detector that never alarms. */
  threshold?: number | null;
}

export interface BernoulliCusumUpdate {
  /** S_t before any reset (the value compared with the threshold). */
  statistic: number;
  alarm: boolean;
}

export interface BernoulliCusumState {
  kind: 'bernoulliCusum';
  p0: number;
  p1: number;
  threshold: number | null;
  statistic: number;
  events: number;
  alarms: number;
}

/**
 * Bernoulli CUSUM: S_t = max(0, S_{t−1} + x_t ln(p1/p0) + (1 − x_t) ln((1 − p1)/(1 − p0))), S_0 = 0. Alarm when
 * S_t > h; S is reset to 0 after an alarm (the returned statistic is the value before the reset). With p1 > p0
 * it detects a rise of P(x = 1), with p1 < p0 a fall. O(1) per update and memory.
 */
export class BernoulliCusum {
  readonly p0: number;
  readonly p1: number;
  threshold: number;
  /** Log-likelihood-ratio increments for x = 1 and x = 0. */
  readonly up: number;
  readonly down: number;
  value = 0;
  events = 0;
  alarms = 0;

  constructor(options: BernoulliCusumOptions) {
    const { p0, p1 } = options;
    for (const [name, p] of [['p0', p0], ['p1', p1]] as const) if (!(p > 0 && p < 1)) throw new Error(`${name} = ${p} must be in (0, 1)`);
    if (p0 === p1) throw new Error('p1 must differ from p0');
    this.p0 = p0;
    this.p1 = p1;
    this.threshold = checkThreshold(options.threshold);
    this.up = Math.log(p1 / p0);
    this.down = Math.log((1 - p1) / (1 - p0));
  }

  /** Adds one indicator (true/1 = low confidence) and returns S_t and the alarm flag. O(1). */
  update(x: boolean | 0 | 1): BernoulliCusumUpdate {
    const statistic = Math.max(0, this.value + (x ? this.up : this.down));
    this.events++;
    const alarm = statistic > this.threshold;
    if (alarm) this.alarms++;
    this.value = alarm ? 0 : statistic;
    return { statistic, alarm };
  }

  /** Plain-JSON state (an infinite threshold is stored as null). */
  toJSON(): BernoulliCusumState {
    return {
      kind: 'bernoulliCusum',
      p0: this.p0,
      p1: this.p1,
      threshold: Number.isFinite(this.threshold) ? this.threshold : null,
      statistic: this.value,
      events: this.events,
      alarms: this.alarms,
    };
  }

  /** Rebuilds a detector from toJSON's output; throws on a malformed state. */
  static fromJSON(state: BernoulliCusumState): BernoulliCusum {
    if (state?.kind !== 'bernoulliCusum') throw new Error(`state.kind = ${String(state?.kind)}, expected 'bernoulliCusum'`);
    if (!(state.statistic >= 0) || !Number.isFinite(state.statistic)) throw new Error(`state.statistic = ${state.statistic} must be a finite number >= 0`);
    for (const key of ['events', 'alarms'] as const) if (!Number.isInteger(state[key]) || state[key] < 0) throw new Error(`state.${key} = ${state[key]} must be an integer >= 0`);
    const detector = new BernoulliCusum(state);
    detector.value = state.statistic;
    detector.events = state.events;
    detector.alarms = state.alarms;
    return detector;
  }
}
