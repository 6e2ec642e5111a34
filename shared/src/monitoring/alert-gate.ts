/**
 * An alert opens only when a detector alarms (significance, with the simulated false-alarm control) AND the effect
 * is worth acting on: large windows make every difference significant, so size is judged separately.
 */
import type { MonitorSnapshot } from './monitor-snapshot';
import { SEQUENTIAL_DETECTORS, type MonitorSettings, type SequentialDetector } from './profile';

export interface AlertDecision {
  detector: SequentialDetector;
  /** The detector alarms and its effect passes the project's gate. */
  opens: boolean;
  /** What the gate saw, in words, e.g. "total variation 0.12 >= 0.05; cat rose, dog fell". */
  effect: string;
}

/** The embedding detector's own effect size: the out-of-distribution share above the reference's by this many points. */
export const OOD_SHARE_MARGIN = 0.05;

const fixed = (value: number, digits = 2): string => value.toFixed(digits);

function classMixEffect(snapshot: MonitorSnapshot, settings: MonitorSettings): { passes: boolean; effect: string } {
  const tv = snapshot.classMix.totalVariation;
  if (tv === null) return { passes: false, effect: 'no events in the window' };
  const passes = tv >= settings.minTotalVariation;
  const moved = snapshot.classMix.classes.filter((c) => c.change !== null).map((c) => `${c.label} ${c.change}`);
  return { passes, effect: `total variation ${fixed(tv)} ${passes ? '>=' : '<'} ${fixed(settings.minTotalVariation)}${moved.length ? `; ${moved.join(', ')}` : ''}` };
}

function dropEffect(snapshot: MonitorSnapshot, settings: MonitorSettings): { passes: boolean; words: string } {
  const drop = snapshot.accuracy.drop;
  if (drop === null) return { passes: false, words: 'no accuracy estimate yet' };
  const passes = drop >= settings.minAccuracyDrop;
  return { passes, words: `estimated accuracy drop ${fixed(drop, 1)} points ${passes ? '>=' : '<'} ${fixed(settings.minAccuracyDrop, 1)}` };
}

function confidenceEffect(snapshot: MonitorSnapshot, settings: MonitorSettings): { passes: boolean; effect: string } {
  const { passes, words } = dropEffect(snapshot, settings);
  const rate = snapshot.confidence.lowConfidenceRate;
  const rates = rate === null ? '' : `; low-confidence rate ${fixed(rate)} vs ${fixed(snapshot.confidence.referenceRate)}`;
  return { passes, effect: `${words}${rates}` };
}

/**
 * The embedding gate: an estimated accuracy drop, or an out-of-distribution share at least OOD_SHARE_MARGIN above the
 * reference's. The second exists because the label-free estimate (CBPE) over-estimates accuracy on regions the model
 * never saw (inverted images, glyphs): there the drop reads small while many events lie outside the reference cloud.
 */
function embeddingEffect(snapshot: MonitorSnapshot, settings: MonitorSettings): { passes: boolean; effect: string } {
  const drop = dropEffect(snapshot, settings);
  const { oodShare, oodReferenceShare } = snapshot.embedding;
  const oodLimit = oodReferenceShare + OOD_SHARE_MARGIN;
  const oodPasses = oodShare !== null && oodShare >= oodLimit;
  const ood = oodShare === null ? 'no out-of-distribution share yet' : `out-of-distribution share ${fixed(oodShare)} ${oodPasses ? '>=' : '<'} ${fixed(oodLimit)}`;
  return { passes: drop.passes || oodPasses, effect: `${drop.words}; ${ood}` };
}

/** One decision per sequential detector, in SEQUENTIAL_DETECTORS order. */
export function alertDecisions(snapshot: MonitorSnapshot, settings: MonitorSettings): AlertDecision[] {
  return SEQUENTIAL_DETECTORS.map((detector) => {
    const gate = detector === 'classMix' ? classMixEffect(snapshot, settings) : detector === 'confidence' ? confidenceEffect(snapshot, settings) : embeddingEffect(snapshot, settings);
    const alarm = snapshot.detectors[detector].alarm;
    return { detector, opens: alarm && gate.passes, effect: alarm ? gate.effect : `no alarm; ${gate.effect}` };
  });
}
