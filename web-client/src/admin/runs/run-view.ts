/**
 * How the admin says where a run is and what it was: its phase in words with a share done, durations, and the
 * parameters of several runs side by side. Plain functions of the hub's run summaries, so they are tested without a browser.
 */
import type { LoadingProgress, ModelConfig, TrainConfig, TrainingProgress } from '@edgeloop/shared';

/** What every view of a run reads (runs.list's rows and runs.get both have it). */
export interface RunState {
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: TrainingProgress | null;
  loading: LoadingProgress | null;
  cancelRequested?: boolean;
}

export type PhaseKind = 'waiting' | 'starting' | 'loading' | 'training' | 'finishing' | 'succeeded' | 'failed' | 'cancelled';

export interface Phase {
  kind: PhaseKind;
  /** The phase in words, e.g. "Loading 12,345 / 70,000 images" or "Epoch 3/15 · step 120/469". */
  label: string;
  /** Share of the phase done, 0..1; null while nothing can be counted (waiting for a worker, starting). */
  done: number | null;
}

const count = (n: number) => n.toLocaleString('en-US');

/** Where a run is, in words, from the same fields the list and the run carry, so both say the same. */
export function runPhase(run: RunState): Phase {
  if (run.status === 'queued') return { kind: 'waiting', label: 'Queued: waiting for a free worker', done: null };
  if (run.status !== 'running') return { kind: run.status, label: run.status === 'succeeded' ? 'Succeeded' : run.status === 'failed' ? 'Failed' : 'Cancelled', done: null };
  const { loading, progress } = run;
  const stopping = run.cancelRequested ? ' (cancelling)' : '';
  if (progress) {
    const steps = Math.max(1, progress.epochs * progress.steps);
    const stepsDone = (progress.epoch - 1) * progress.steps + progress.step;
    if (stepsDone >= steps) return { kind: 'finishing', label: `Evaluating on the test split and exporting${stopping}`, done: 1 };
    return { kind: 'training', label: `Epoch ${progress.epoch}/${progress.epochs} · step ${progress.step}/${progress.steps}${stopping}`, done: stepsDone / steps };
  }
  if (loading && loading.done < loading.total) {
    return { kind: 'loading', label: `Loading ${count(loading.done)} / ${count(loading.total)} images${stopping}`, done: loading.total ? loading.done / loading.total : 0 };
  }
  if (loading) return { kind: 'starting', label: `${loadedLabel(loading)} · starting training${stopping}`, done: null };
  return { kind: 'starting', label: `Starting: reading the dataset version${stopping}`, done: null };
}

/** The finished loading in words: "Loaded 70,000 images in 1 min 38 s" or "Loaded 3,000 images from the cache". */
export function loadedLabel(loading: LoadingProgress): string {
  if (loading.fromCache) return `Loaded ${count(loading.total)} images from the cache`;
  return `Loaded ${count(loading.total)} images${loading.seconds === null ? '' : ` in ${formatDuration(loading.seconds)}`}`;
}

/** "45 s", "4 min 12 s", "2 h 5 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Seconds from start to finish, or to `now` while it runs; null before it started. */
export function runSeconds(run: { startedAt: string | null; finishedAt: string | null }, now = Date.now()): number | null {
  if (!run.startedAt) return null;
  return ((run.finishedAt ? Date.parse(run.finishedAt) : now) - Date.parse(run.startedAt)) / 1000;
}

export const percent = (value: number | undefined | null, digits = 2): string =>
  value === undefined || value === null || !Number.isFinite(value) ? '–' : `${(value * 100).toFixed(digits)}%`;

/** "3 min ago", "2 h ago", else the date. */
export function formatWhen(iso: string, now = Date.now()): string {
  const seconds = (now - Date.parse(iso)) / 1000;
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toISOString().slice(0, 16).replace('T', ' ');
}

/** A model config in a few words: "reference CNN 28×28, filters 32/64, dense 128" or "MobileNet α 0.5, 13 blocks, 96×96". */
export function describeModel(model: ModelConfig): string {
  const [h, w] = model.inputShape;
  const dropout = model.dropout ? `, dropout ${model.dropout}` : '';
  if (model.architecture === 'reference-cnn') return `reference CNN ${h}×${w}, filters ${model.filters.join('/')}, dense ${model.denseUnits}${dropout}`;
  return `MobileNet α ${model.alpha}, ${model.blocks} blocks, ${h}×${w}${dropout}`;
}

/** One parameter of the runs being compared: its value per run in words, and whether they differ. */
export interface ParamRow {
  group: 'Data' | 'Model' | 'Training';
  name: string;
  values: string[];
  differs: boolean;
}

const TRAIN_NAMES: [keyof TrainConfig, string][] = [
  ['epochs', 'Epochs'],
  ['batchSize', 'Batch size'],
  ['learningRate', 'Learning rate'],
  ['learningRateSchedule', 'Learning-rate schedule'],
  ['augmentation', 'Augmentation'],
  ['seed', 'Seed'],
  ['backend', 'Backend asked for'],
  ['replicas', 'Replicas (0 = one per core)'],
  ['maxQuantizationDrop', 'Largest quantization drop (points)'],
  ['initFromRun', 'Warm start from run'],
  ['reviewedShare', 'Reviewed items share'],
  ['maxBaseItems', 'Most base items'],
  ['classPriors', 'Class priors'],
];

const MODEL_NAMES: [string, string][] = [
  ['architecture', 'Architecture'],
  ['inputShape', 'Input (height × width × channels)'],
  ['filters', 'Filters'],
  ['denseUnits', 'Dense units'],
  ['alpha', 'Width multiplier (α)'],
  ['blocks', 'Blocks'],
  ['dropout', 'Dropout'],
];

/** A config value in words: lists joined, none for null, shortened ids. */
export function formatParam(value: unknown): string {
  if (value === null || value === undefined) return '–';
  if (Array.isArray(value)) return value.join(' × ');
  if (typeof value === 'string' && /^[0-9a-f-]{32,}$/.test(value)) return value.slice(0, 8);
  return String(value);
}

/** The parameters of runs side by side (one value per run, in the order given); `differs` marks the rows to look at. */
export function paramRows(runs: readonly { model: ModelConfig; train: TrainConfig; datasetVersionId: string }[]): ParamRow[] {
  const row = (group: ParamRow['group'], name: string, values: string[]): ParamRow => ({ group, name, values, differs: new Set(values).size > 1 });
  const modelField = (model: ModelConfig, key: string) => formatParam((model as unknown as Record<string, unknown>)[key]);
  const rows = [row('Data', 'Dataset version', runs.map((r) => r.datasetVersionId.slice(0, 12)))];
  for (const [key, name] of MODEL_NAMES) {
    const values = runs.map((r) => modelField(r.model, key));
    if (values.some((v) => v !== '–')) rows.push(row('Model', name, values));
  }
  for (const [key, name] of TRAIN_NAMES) rows.push(row('Training', name, runs.map((r) => formatParam(r.train[key]))));
  return rows;
}

/** The values a person typed for a sweep parameter ("0.001, 0.003 0.01"): numbers, or null with what is wrong. */
export function parseSweepValues(text: string): { values: number[]; error: string | null } {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (!parts.length) return { values: [], error: 'give at least one value' };
  const values = parts.map(Number);
  const bad = parts.find((_, i) => !Number.isFinite(values[i]));
  if (bad !== undefined) return { values: [], error: `"${bad}" is not a number` };
  return { values: [...new Set(values)], error: null };
}

/** How many runs a grid queues: the product of the value counts ("3 × 2 = 6"). */
export function gridSize(valueCounts: readonly number[]): { runs: number; words: string } {
  const runs = valueCounts.reduce((n, c) => n * c, 1);
  return { runs, words: valueCounts.length > 1 ? `${valueCounts.join(' × ')} = ${runs}` : String(runs) };
}
