/**
 * The PWA's state and actions: the verified model of the configured channel, the inference worker and its backend,
 * predictions and labels going into the outbox, syncing, and picking up newly promoted models.
 */
import type { PredictionEvent, PredictionSource, Role } from '@edgeloop/shared';
import { TRPCClientError } from '@trpc/client';
import { hubClient } from '../hub-client';
import { uploadImage } from '../upload-image';
import { type BackendChoice, InferenceWorker, backendOrder, measureBackends, readBackendChoice } from './classifier';
import { toModelPixels } from './image-pixels';
import type { BackendMeasurement, ClassifyResult, LoadResult } from './inference-protocol';
import { type HistoryEntry, localDb, readValue, writeValue } from './local-db';
import { type ChannelRef, ModelRefused, type VerifiedModel, fetchChannelModel, loadCachedModel } from './model-store';
import { type OutboxCounts, enqueue, flushOutbox, outboxCounts } from './outbox';
import { requestBackgroundSync } from './outbox-sync';
import { type Settings, fromQuery, loadSettings, saveSettings, settingsProblems } from './settings';
import { hubSender } from './sync-client';

const TOP_K = 5;
const UPDATE_CHECK_MS = 60_000;
const SYNC_MS = 30_000;
const RETRY_FIRST_MS = 1_000;

/** User Timing marks (visible in the browser's performance tools; the PWA benchmark reads them): the first of each. */
function markOnce(name: string): void {
  if (performance.getEntriesByName(name).length === 0) performance.mark(name);
}

export interface Prediction {
  id: string;
  top: { label: string; probability: number }[];
  backend: string;
  latencyMs: number;
  thumbnail: string;
  version: number;
}

export class EdgeApp {
  settings = $state<Settings>({ project: '', model: '', channel: 'production', token: '', backend: 'auto' });
  /** Problems with the link's query string or the stored settings. */
  settingsProblems = $state<string[]>([]);
  role = $state<Role | null>(null);
  model = $state<{ version: number; format: string; bytes: number; labels: string[]; architecture: string } | null>(null);
  /** What the app is doing now, in words. */
  status = $state('starting');
  /** Why the newest model was refused, or why none could be loaded; the last good model stays in use. */
  modelProblem = $state('');
  loadResult = $state<LoadResult | null>(null);
  measurements = $state<BackendMeasurement[] | null>(null);
  online = $state(navigator.onLine);
  outbox = $state<OutboxCounts>({ waiting: 0, refused: [] });
  syncProblem = $state('');
  lastPrediction = $state<Prediction | null>(null);
  classifyProblem = $state('');
  history = $state<HistoryEntry[]>([]);
  /** A labeler's consent: images labelled from now on are added to the project's training data. */
  shareImages = $state(false);

  private worker: InferenceWorker | null = null;
  private verified: VerifiedModel | null = null;
  private updating: Promise<void> | null = null;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private retryMs = RETRY_FIRST_MS;

  get ref(): ChannelRef {
    return { project: this.settings.project, model: this.settings.model, channel: this.settings.channel };
  }

  get configured(): boolean {
    return Boolean(this.settings.project && this.settings.model);
  }

  get canLabel(): boolean {
    return this.role === 'labeler' || this.role === 'engineer' || this.role === 'admin';
  }

  async start(): Promise<void> {
    const query = new URLSearchParams(location.search);
    const { settings, problems } = fromQuery(await loadSettings(), query);
    if (query.has('token')) {
      // Kept on the device now: keep the secret out of the address bar, history and screenshots.
      query.delete('token');
      history.replaceState(null, '', `${location.pathname}${query.size ? `?${query}` : ''}`);
    }
    this.settings = settings;
    this.settingsProblems = problems;
    // The worker parses TensorFlow.js and starts a backend while the model is read and verified.
    this.worker = new InferenceWorker();
    void this.worker.prepare(backendOrder(settings.backend, await readBackendChoice(null)));
    await saveSettings(settings);
    this.role = (await readValue<Role>('role')) ?? null;
    addEventListener('online', () => {
      this.online = true;
      void this.sync();
      void this.checkForUpdate();
    });
    addEventListener('offline', () => (this.online = false));
    setInterval(() => void this.sync(), SYNC_MS);
    setInterval(() => document.visibilityState === 'visible' && void this.checkForUpdate(), UPDATE_CHECK_MS);
    await this.refreshLocal();
    if (this.configured) await this.openModel();
    else this.status = 'set a project and a model in Settings (or open a link that names them)';
    void this.identify();
    void this.sync();
  }

  /** Changes settings and reopens the model if the channel changed; refuses invalid ones, saying why. */
  async applySettings(next: Settings): Promise<boolean> {
    this.settingsProblems = settingsProblems(next);
    if (this.settingsProblems.length) return false;
    const reopen = next.project !== this.settings.project || next.model !== this.settings.model || next.channel !== this.settings.channel;
    const rebackend = next.backend !== this.settings.backend;
    this.settings = { ...next, token: next.token.trim() };
    await saveSettings(this.settings);
    void this.identify();
    if (reopen) {
      this.verified = null;
      this.model = null;
      await this.openModel();
    } else if (rebackend && this.verified) {
      await this.loadIntoWorker(this.verified);
    }
    void this.sync();
    return true;
  }

  /** The token's role (which decides whether labeling is offered); remembered for offline use. */
  private async identify(): Promise<void> {
    if (!this.settings.token || !this.online) return;
    try {
      this.role = (await hubClient(this.settings.token).auth.whoami.query()).role;
      await writeValue('role', this.role);
    } catch (error) {
      this.syncProblem = `token: ${(error as Error).message}`;
    }
  }

  /** Cached model first (works offline, starts fast), else the channel's model from the network. */
  private async openModel(): Promise<void> {
    this.worker ??= new InferenceWorker();
    this.status = 'loading the model';
    this.modelProblem = '';
    let model: VerifiedModel | null = null;
    try {
      model = await loadCachedModel(this.ref);
    } catch (error) {
      this.modelProblem = `cached model refused: ${(error as Error).message}`;
    }
    if (model) {
      await this.useModel(model);
      void this.checkForUpdate();
      return;
    }
    await this.checkForUpdate();
    if (!this.verified) this.status = this.online ? 'no model' : 'offline, and no model is cached on this device yet';
  }

  /** Reads the channel; downloads, verifies and switches to a newly promoted version. Keeps the model on refusal. */
  checkForUpdate(): Promise<void> {
    if (!this.configured || !this.online) return Promise.resolve();
    this.updating ??= (async () => {
      const current = this.verified?.version ?? null;
      try {
        const next = await fetchChannelModel(this.ref, current);
        if (next) await this.useModel(next);
        this.modelProblem = '';
      } catch (error) {
        const message = (error as Error).message;
        this.modelProblem = error instanceof ModelRefused ? `model refused: ${message}${current ? `; still using v${current}` : ''}` : `could not check for a new model: ${message}`;
      } finally {
        this.updating = null;
      }
    })();
    return this.updating;
  }

  private async useModel(model: VerifiedModel): Promise<void> {
    await this.loadIntoWorker(model);
    this.verified = model;
    this.model = {
      version: model.version,
      format: model.variant.format,
      bytes: model.variant.bytes,
      labels: model.manifest.labels,
      architecture: model.manifest.architecture,
    };
    this.status = 'ready';
    markOnce('edgeloop:model-ready');
  }

  /**
   * Loads into the serving worker on the preferred backend. The worker finishes the classification in flight
   * first, so a switch never interrupts one. With no measurement yet, one runs in the background.
   */
  private async loadIntoWorker(model: VerifiedModel): Promise<void> {
    const choice = await readBackendChoice(model);
    this.measurements = choice?.measurements ?? null;
    this.loadResult = await this.worker!.load(model, backendOrder(this.settings.backend, choice));
    if (!choice && this.settings.backend === 'auto') void this.measure(model);
  }

  private async measure(model: VerifiedModel): Promise<BackendChoice | null> {
    const choice = await measureBackends(model).catch(() => null);
    if (!choice || this.verified !== model) return choice;
    this.measurements = choice.measurements;
    if (this.settings.backend === 'auto' && choice.backend !== this.loadResult?.backend) {
      this.loadResult = await this.worker!.load(model, backendOrder('auto', choice));
    }
    return choice;
  }

  /** Measures all backends again (from Settings) and switches to the fastest when on auto. */
  async remeasure(): Promise<void> {
    if (this.verified) await this.measure(this.verified);
  }

  async classify(source: Blob | HTMLVideoElement, how: PredictionSource): Promise<void> {
    const model = this.verified;
    if (!model || !this.worker) {
      this.classifyProblem = 'no model is loaded yet';
      return;
    }
    this.classifyProblem = '';
    markOnce('edgeloop:classify-start');
    let pixels;
    let result: ClassifyResult;
    try {
      pixels = await toModelPixels(source, model.manifest.preprocessing);
      result = await this.worker.classify(pixels.rgba);
    } catch (error) {
      this.classifyProblem = (error as Error).message;
      return;
    }
    const top = result.probabilities
      .map((probability, i) => ({ label: model.manifest.labels[i]!, probability }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, TOP_K);
    const event: PredictionEvent = {
      id: crypto.randomUUID(),
      model: model.ref.model,
      version: model.version,
      backend: result.backend,
      latencyMs: result.latencyMs,
      top,
      embedding: result.embedding,
      source: how,
      createdAt: new Date().toISOString(),
    };
    this.lastPrediction = { id: event.id, top, backend: result.backend, latencyMs: result.latencyMs, thumbnail: pixels.thumbnail, version: model.version };
    markOnce('edgeloop:first-prediction');
    const entry: HistoryEntry = {
      id: event.id,
      project: model.ref.project,
      model: event.model,
      version: event.version,
      top,
      backend: event.backend,
      latencyMs: event.latencyMs,
      createdAt: event.createdAt,
      thumbnail: pixels.thumbnail,
      ...(pixels.original ? { image: pixels.original } : {}),
    };
    await (await localDb()).put('history', entry);
    await enqueue({ kind: 'prediction', project: model.ref.project, event });
    await this.afterEnqueue();
  }

  /**
   * A labeler confirms (the predicted label) or corrects a prediction; works offline like everything else. With
   * `shareImages` on, the image also goes to the project's working set with that label, for the next training data.
   */
  async label(predictionId: string, label: string): Promise<void> {
    const db = await localDb();
    const entry = await db.get('history', predictionId);
    if (!entry) return;
    const at = new Date().toISOString();
    const share = this.shareImages && entry.image ? { share: { state: 'waiting' as const } } : {};
    await db.put('history', { ...entry, groundTruth: { label, at }, ...share });
    await enqueue({ kind: 'correction', project: entry.project, event: { id: crypto.randomUUID(), predictionId, label, createdAt: at } });
    await this.afterEnqueue();
  }

  private async afterEnqueue(): Promise<void> {
    await this.refreshLocal();
    if (this.online) void this.sync();
    else void requestBackgroundSync();
  }

  /** Sends the outbox now; what cannot be sent stays queued (Background Sync retries when back online). */
  async sync(): Promise<void> {
    if (!this.settings.token) {
      await this.refreshLocal();
      return;
    }
    clearTimeout(this.retry);
    try {
      await flushOutbox(hubSender(this.settings.token));
      await this.uploadSharedImages();
      this.syncProblem = '';
      this.retryMs = RETRY_FIRST_MS;
    } catch (error) {
      this.syncProblem = this.online ? `sync failed, will retry: ${(error as Error).message}` : '';
      void requestBackgroundSync();
      // Retry soon, then less and less often (the periodic sync still runs).
      this.retry = setTimeout(() => void this.sync(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, SYNC_MS);
    }
    await this.refreshLocal();
  }

  /** Uploads the images labelers shared (presigned PUT straight to the object store); failures stay waiting. */
  private async uploadSharedImages(): Promise<void> {
    const db = await localDb();
    const client = hubClient(this.settings.token);
    for (const entry of await db.getAll('history')) {
      if (entry.share?.state !== 'waiting' || !entry.image || !entry.groundTruth) continue;
      let share: HistoryEntry['share'];
      try {
        await uploadImage(client, entry.image, { project: entry.project, label: entry.groundTruth.label, split: 'train' }, `image of prediction ${entry.id}`);
        share = { state: 'uploaded' };
      } catch (error) {
        const code = error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : undefined;
        share = code === 'CONFLICT' ? { state: 'already in the dataset' } : { state: 'waiting', error: (error as Error).message };
      }
      await db.put('history', { ...entry, share });
    }
  }

  async refreshLocal(): Promise<void> {
    const db = await localDb();
    this.outbox = await outboxCounts();
    this.history = (await db.getAllFromIndex('history', 'createdAt')).reverse().slice(0, 100);
  }
}
