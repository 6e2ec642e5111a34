/**
 * The PWA's model side: the settings, the verified model of the configured channel, the inference worker and its
 * backend, picking up newly promoted models, and classifying. What a classification yields goes to the
 * FeedbackController (the view passes it on).
 */
import { type PredictionEvent, type PredictionSource, type TopClasses, topClasses } from '@edgeloop/shared';
import { hubClient, hubCode } from '../hub-client';
import { type BackendChoice, type InferenceWorker, backendOrder, measureBackends, readBackendChoice, servingWorker } from './classifier';
import { probeHub } from './connectivity';
import { APP_VERSION, deviceId } from './device-identity';
import { type KeptImage, toModelInput, toModelPixels } from './image-pixels';
import { classifyProblem, modelProblem } from './plain-error';
import type { BackendMeasurement, ClassifyResult, LoadResult } from './inference-protocol';
import type { HistoryEntry } from './local-db';
import { type ChannelRef, ModelRefused, NoModelYet, type RolloutAssignment, type VerifiedModel, fetchChannelModel, loadCachedModel, prefetchHubKeys, rememberModel } from './model-store';
import { precacheLater, whenIdle } from './offline-assets';
import { predictionEvent } from './prediction-event';
import { type Settings, fromQuery, loadSettings, saveSettings, settingsProblems } from './settings';

const UPDATE_CHECK_MS = 60_000;
/** Without a classification this long after the model is ready, the idle work (later precache, measuring) starts anyway. */
const IDLE_WORK_AFTER_READY_MS = 10_000;

const refKey = (ref: ChannelRef) => `${ref.project}/${ref.model}/${ref.channel}`;

/** User Timing marks (visible in the browser's performance tools; the PWA benchmark reads them): the first of each. */
function markOnce(name: string): void {
  if (performance.getEntriesByName(name).length === 0) performance.mark(name);
}

/** A classification, as it goes to the outbox (event) and into the device's history (entry). */
export interface Prediction {
  project: string;
  event: PredictionEvent;
  entry: HistoryEntry;
}

/** What new settings changed, for whoever follows them (takeSettings, then followSettings). */
export interface SettingsChange {
  /** Another project, model or channel: the model is opened anew. */
  channel: boolean;
  backend: boolean;
  /** Another token or project: what the hub refused before may be accepted now. */
  credentials: boolean;
}

export class ModelController {
  settings = $state<Settings>({ project: '', model: '', channel: 'production', token: '', backend: 'auto' });
  /** Problems with the link's query string or the stored settings. */
  settingsProblems = $state<string[]>([]);
  /** Whether the hub answers (not just whether the browser thinks it has a network); the view follows connectivity. */
  online = $state(navigator.onLine);
  model = $state<{ version: number; format: string; bytes: number; labels: string[]; architecture: string } | null>(null);
  /** The channel's staged rollout as this device sees it (which group it is in), from the latest pointer read; null without a canary. */
  rollout = $state<RolloutAssignment | null>(null);
  /** What the app is doing now, in words. */
  status = $state('starting');
  /** Why the newest model was refused, or why none could be loaded; the last good model stays in use. */
  modelProblem = $state('');
  loadResult = $state<LoadResult | null>(null);
  measurements = $state<BackendMeasurement[] | null>(null);
  /** The newest prediction made here, as kept in the device's history. */
  lastPrediction = $state<HistoryEntry | null>(null);
  classifyProblem = $state('');
  /** What a classification in progress is doing, in words (the view's busy indicator); '' when none is. */
  busy = $state<'' | 'Reading the image…' | 'Classifying…'>('');

  private worker: InferenceWorker | null = null;
  private verified: VerifiedModel | null = null;
  /** The update check in flight, for which channel. */
  private updating: { key: string; done: Promise<void> } | null = null;
  /** Model switches and classifications take turns, so a result is always read with the model that produced it. */
  private turn: Promise<unknown> = Promise.resolve();

  /** Resolved by the first classification: the idle work waits for it (or for IDLE_WORK_AFTER_READY_MS). */
  private firstUse: () => void = () => {};
  private readonly used = new Promise<void>((resolve) => (this.firstUse = resolve));
  private idleWork: Promise<void> | null = null;
  /** The configured channel's cached model, read and checked from start() on, while the rest of the app starts; open() takes it. */
  private cachedRead: { key: string; model: Promise<VerifiedModel | null> } | null = null;

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work, work);
    this.turn = result.catch(() => {});
    return result;
  }

  get ref(): ChannelRef {
    return { project: this.settings.project, model: this.settings.model, channel: this.settings.channel };
  }

  get configured(): boolean {
    return Boolean(this.settings.project && this.settings.model);
  }

  /** Takes the settings (the link's query over the stored ones), starts the inference worker, and checks for updates periodically. */
  async start(): Promise<void> {
    // The worker's scripts download while the settings are read; a first visit asks for the hub's keys meanwhile.
    this.worker = servingWorker();
    if (navigator.onLine) prefetchHubKeys(); // main.ts asked already: this one joins that request, or the remembered keys
    const query = new URLSearchParams(location.search);
    const { settings, problems } = fromQuery(await loadSettings(), query);
    if (query.has('token')) {
      // Kept on the device now: keep the secret out of the address bar, history and screenshots.
      query.delete('token');
      history.replaceState(null, '', `${location.pathname}${query.size ? `?${query}` : ''}`);
    }
    this.settings = settings;
    this.settingsProblems = problems;
    if (this.configured) {
      const model = loadCachedModel(this.ref);
      model.catch(() => {}); // open() reports it
      this.cachedRead = { key: refKey(this.ref), model };
    }
    // The worker parses TensorFlow.js and starts a backend while the model is read and verified.
    void this.worker.prepare(backendOrder(settings.backend, await readBackendChoice(null)));
    await saveSettings(settings);
    setInterval(() => document.visibilityState === 'visible' && void this.checkForUpdate(), UPDATE_CHECK_MS);
  }

  /** Changes and saves settings; refuses invalid ones, saying why (null). followSettings then acts on what changed. */
  async takeSettings(next: Settings): Promise<SettingsChange | null> {
    this.settingsProblems = settingsProblems(next);
    if (this.settingsProblems.length) return null;
    const change: SettingsChange = {
      channel: next.project !== this.settings.project || next.model !== this.settings.model || next.channel !== this.settings.channel,
      backend: next.backend !== this.settings.backend,
      credentials: next.token.trim() !== this.settings.token || next.project !== this.settings.project,
    };
    this.settings = { ...next, token: next.token.trim() };
    await saveSettings(this.settings);
    return change;
  }

  /** Reopens the model if the channel changed, or reloads it on the chosen backend. */
  async followSettings(change: SettingsChange): Promise<void> {
    if (change.channel) {
      this.verified = null;
      this.model = null;
      this.rollout = null;
      await this.openModel();
    } else if (change.backend && this.verified) {
      await this.useModel(this.verified);
    }
  }

  /** Opens the model of the configured channel, or says what is missing to name one. */
  async open(): Promise<void> {
    if (this.configured) await this.openModel();
    else this.status = 'set a project and a model in Settings (or open a link that names them)';
  }

  /** Cached model first (works offline, starts fast), else the channel's model from the network. */
  private async openModel(): Promise<void> {
    this.status = 'loading the model';
    this.modelProblem = '';
    let model: VerifiedModel | null = null;
    const early = this.cachedRead?.key === refKey(this.ref) ? this.cachedRead.model : null;
    this.cachedRead = null;
    try {
      model = await (early ?? loadCachedModel(this.ref));
    } catch (error) {
      this.modelProblem = `cached model refused: ${(error as Error).message}`;
    }
    if (model) {
      try {
        await this.useModel(model);
        void this.checkForUpdate();
        return;
      } catch (error) {
        this.modelProblem = modelProblem(error, 'run the model kept on this device');
      }
    }
    await this.checkForUpdate();
    if (this.verified) return;
    if (!this.online) this.status = 'offline, and no model is cached on this device yet';
    else if (this.status === 'loading the model') this.status = 'no model could be loaded';
  }

  /**
   * Reads the channel; downloads, verifies and switches to a newly promoted version, and remembers it once it runs.
   * On a refusal (or a version that does not run) the model in use stays, here and after a restart.
   */
  checkForUpdate(): Promise<void> {
    if (!this.configured || !this.online) return Promise.resolve();
    const ref = this.ref;
    const key = refKey(ref);
    if (this.updating?.key === key) return this.updating.done;
    const done = (async () => {
      const current = this.verified && refKey(this.verified.ref) === key ? this.verified.version : null;
      try {
        // The installation's id decides its group in a canary; without the device's database it stays on production.
        const installation = deviceId().catch(() => null);
        const next = await fetchChannelModel(ref, current, {
          deviceId: installation,
          onAssignment: (assignment) => {
            if (refKey(this.ref) === key) this.rollout = assignment;
          },
        });
        if (refKey(this.ref) !== key) return; // the settings moved to another channel meanwhile
        if (next) {
          await this.useModel(next);
          await rememberModel(next);
        }
        this.modelProblem = '';
      } catch (error) {
        if (refKey(this.ref) !== key) return;
        const message = (error as Error).message;
        if (error instanceof NoModelYet) {
          this.modelProblem = '';
          if (!this.verified) this.status = await this.whyNoModel(ref);
        } else if (error instanceof ModelRefused) {
          this.modelProblem = `model refused: ${message}${current ? `; still using v${current}` : ''}`;
        } else if (!(await probeHub())) {
          this.modelProblem = ''; // offline: the connection indicator says it; the cached model (if any) stays in use
        } else {
          this.modelProblem = modelProblem(error, 'update the model');
        }
      }
    })().finally(() => {
      if (this.updating?.key === key) this.updating = null;
    });
    this.updating = { key, done };
    return done;
  }

  /**
   * The channel has no pointer on the CDN: say whether the project, the model or just a promotion is missing. Only the
   * hub knows which, and it answers callers with a token; without one the plain fact is all there is.
   */
  private async whyNoModel(ref: ChannelRef): Promise<string> {
    const fallback = `no ${ref.channel} model for ${ref.project}/${ref.model} yet: it appears here once an engineer promotes a version to ${ref.channel} in the hub (check the project and model names in Settings)`;
    if (!this.settings.token) return fallback;
    const client = hubClient(this.settings.token);
    try {
      await client.projects.get.query({ project: ref.project });
    } catch (error) {
      if (hubCode(error) === 'FORBIDDEN') return `this device's token is not for project "${ref.project}": check the link or Settings`;
      if (hubCode(error) === 'NOT_FOUND') return `the hub has no project "${ref.project}": check the link or the project in Settings`;
      return fallback;
    }
    try {
      await client.registry.channel.query(ref);
    } catch (error) {
      // NOT_FOUND names either the model (unknown) or the channel (nothing promoted yet).
      if (hubCode(error) === 'NOT_FOUND' && (error as Error).message.includes(`model "${ref.model}"`)) {
        return `project "${ref.project}" has no model "${ref.model}": check the link or the model in Settings`;
      }
    }
    return fallback;
  }

  /** Loads the model into the worker and, once it ran there, makes it the one predictions are read with. */
  private useModel(model: VerifiedModel): Promise<void> {
    return this.exclusive(async () => {
      await this.loadIntoWorker(model);
      this.verified = model;
      // Offline the pointer is not read again: the group the model was taken in is the one known.
      this.rollout ??= model.rollout;
      this.model = {
        version: model.version,
        format: model.variant.format,
        bytes: model.variant.bytes,
        labels: model.manifest.labels,
        architecture: model.manifest.architecture,
      };
      this.status = 'ready';
      markOnce('edgeloop:model-ready');
      void this.afterFirstUse();
    });
  }

  /**
   * Resolves once the device is idle after the first classification (or a while after the model is ready, if none
   * comes), having had the service worker fetch the backends this visit did not need: what measuring them loads
   * then comes from the device, and they are there offline.
   */
  private afterFirstUse(): Promise<void> {
    this.idleWork ??= Promise.race([this.used, new Promise((resolve) => setTimeout(resolve, IDLE_WORK_AFTER_READY_MS))])
      .then(() => whenIdle())
      .then(() => precacheLater())
      .then(
        (result) => {
          if (result && !result.error) markOnce('edgeloop:later-precached');
        },
        () => {}, // not cached now: the route fetches each when first used, and the next start asks again
      );
    return this.idleWork;
  }

  /** Loads into the serving worker on the preferred backend; with no measurement yet, one runs in the background. */
  private async loadIntoWorker(model: VerifiedModel): Promise<void> {
    const choice = await readBackendChoice(model);
    this.measurements = choice?.measurements ?? null;
    this.loadResult = await this.worker!.load(model, backendOrder(this.settings.backend, choice));
    // Measuring loads every backend and keeps the cores busy for a few seconds: not before the first prediction.
    if (!choice && this.settings.backend === 'auto') void this.afterFirstUse().then(() => this.measure(model));
  }

  private async measure(model: VerifiedModel): Promise<BackendChoice | null> {
    const choice = await measureBackends(model).catch(() => null);
    if (!choice) return null;
    markOnce('edgeloop:backends-measured');
    await this.exclusive(async () => {
      if (this.verified !== model) return; // another model came meanwhile; it reads the stored choice itself
      this.measurements = choice.measurements;
      if (this.settings.backend === 'auto' && choice.backend !== this.loadResult?.backend) {
        this.loadResult = await this.worker!.load(model, backendOrder('auto', choice));
      }
    });
    return choice;
  }

  /** Measures all backends again (from Settings) and switches to the fastest when on auto. */
  async remeasure(): Promise<void> {
    if (this.verified) await this.measure(this.verified);
  }

  /** Classifies an image with the model in use; null when it could not (classifyProblem says why). */
  async classify(source: Blob | HTMLVideoElement, how: PredictionSource): Promise<Prediction | null> {
    this.classifyProblem = '';
    markOnce('edgeloop:classify-start');
    let run: { model: VerifiedModel; kept: KeptImage; result: ClassifyResult };
    this.busy = 'Reading the image…';
    try {
      run = await this.exclusive(async () => {
        const model = this.verified;
        if (!model || !this.worker) throw new Error('no model is loaded yet');
        this.busy = 'Reading the image…';
        const pixels = await toModelPixels(source, model.manifest.preprocessing);
        this.busy = 'Classifying…';
        const [result, kept] = await Promise.all([this.worker.classify(pixels.rgba), pixels.kept]);
        return { model, kept, result };
      });
    } catch (error) {
      this.classifyProblem = classifyProblem(error);
      return null;
    } finally {
      this.busy = '';
    }
    const { model, kept, result } = run;
    // Without the device's database (private browsing may refuse it) the event goes without an installation id.
    const installation = await deviceId().catch(() => undefined);
    const event = predictionEvent(
      { ref: model.ref, version: model.version, labels: model.manifest.labels, deviceId: installation, appVersion: APP_VERSION },
      result,
      how,
      { id: crypto.randomUUID(), at: new Date() },
    );
    const top = event.top;
    const entry: HistoryEntry = {
      id: event.id,
      project: model.ref.project,
      model: event.model,
      version: event.version,
      top,
      backend: event.backend,
      latencyMs: event.latencyMs,
      createdAt: event.createdAt,
      thumbnail: kept.thumbnail,
      ...(kept.original.image ? { image: kept.original.image } : {}),
      ...(kept.original.note ? { imageNote: kept.original.note } : {}),
    };
    this.lastPrediction = entry;
    markOnce('edgeloop:first-prediction');
    this.firstUse();
    return { project: model.ref.project, event, entry };
  }

  /**
   * One live camera frame: its classes with the model in use, and nothing else (no history entry, no event, no image
   * kept: see LiveCamera.svelte for why live frames are not sent). Null when no model is loaded.
   */
  async classifyFrame(video: HTMLVideoElement): Promise<{ top: TopClasses; latencyMs: number; backend: string } | null> {
    return this.exclusive(async () => {
      const model = this.verified;
      if (!model || !this.worker) return null;
      const result = await this.worker.classify(await toModelInput(video, model.manifest.preprocessing));
      return { top: topClasses(result.probabilities, model.manifest.labels, 3), latencyMs: result.latencyMs, backend: result.backend };
    });
  }
}
