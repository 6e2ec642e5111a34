/**
 * The PWA's feedback side: who the token is (which decides whether labeling is offered), predictions and labels
 * going into the outbox, syncing it with the hub, the hub's review batch (kept for offline labeling), and uploading
 * the images labelers share or the project collects (they wait in the hub's review inbox).
 */
import type { Role } from '@edgeloop/shared';
import { hubClient, hubCode } from '../hub-client';
import { plainError } from '../plain-error';
import { uploadImage } from '../upload-image';
import { probeHub } from './connectivity';
import { fitForUpload } from './image-pixels';
import { type HistoryEntry, localDb, readValue, writeValue } from './local-db';
import type { Prediction } from './model-controller.svelte';
import { CredentialsRefused, type OutboxCounts, enqueue, flushOutbox, outboxCounts, requeueRefused } from './outbox';
import { credentialsProblem, hubSender } from './outbox-sender';
import { requestBackgroundSync } from './outbox-sync';
import { syncProblem } from './plain-error';
import { type ReviewSlot, type StoredReviewBatch, correctionEvent, openSlots } from './review-order';
import { type Settings, loadShareChoice, saveShareChoice } from './settings';
import { type HeldAction, UndoWindow } from './undo-window';

const SYNC_MS = 30_000;
/** Predictions a review batch holds at most (the hub answers at most 50). */
const REVIEW_BATCH = 50;
const REVIEW_BATCH_KEY = 'review-batch';
const COLLECT_KEY = 'collect-reviewed-images';
/** Whether the project collected images when the hub last said (remembered per project, for offline use). */
const rememberedCollect = async (project: string) => (await readValue<boolean>(`${COLLECT_KEY}:${project}`)) ?? false;
const RETRY_FIRST_MS = 1_000;
/**
 * How long a confirm can be taken back before it is queued: long enough to read "Confirmed Bag · Undo" and tap it,
 * short enough that the label is queued before a person moves on (and it is queued at once when the page is hidden).
 */
export const UNDO_MS = 4_000;

/** A confirm waiting out its undo window. */
export interface HeldLabel {
  label: string;
  assignmentId?: string;
}

/** What feedback follows of the device: its settings (the token, the project) and whether the hub answers. */
export interface DeviceState {
  readonly settings: Settings;
  readonly online: boolean;
}

/**
 * The newest predictions the app holds in view (the labeling list, and the ids the hub's review queue chooses among):
 * as many as feedback.nextReviews takes per call, so a labeler who classified a few hundred images can review them all.
 */
const HISTORY_SHOWN = 500;

export class FeedbackController {
  role = $state<Role | null>(null);
  outbox = $state<OutboxCounts>({ waiting: 0, refused: [] });
  syncProblem = $state('');
  /** Set when the hub refused this token or project: events stay on the device and nothing is retried until Settings change. */
  credentialsProblem = $state('');
  history = $state<HistoryEntry[]>([]);
  /** A labeler's consent: images labelled from now on are added to the project's training data (remembered: setShareImages). */
  shareImages = $state(false);
  /** Confirms still in their undo window (prediction id -> label), newest last. */
  held = $state<HeldAction<HeldLabel>[]>([]);
  private readonly confirms = new UndoWindow<HeldLabel>(
    UNDO_MS,
    (predictionId, { label, assignmentId }) => this.label(predictionId, label, assignmentId),
    () => (this.held = this.confirms.pending),
  );
  /**
   * The hub's review batch (the labeling view's order), kept in IndexedDB so it is followed offline too; null before
   * the hub was ever asked for this project: the device's own order.
   */
  reviews = $state<ReviewSlot[] | null>(null);
  /** The project collects the images of reviewed predictions (its labeling settings): each label sends its image. */
  collectImages = $state(false);

  private uploadingImages = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private retryMs = RETRY_FIRST_MS;

  constructor(private readonly device: DeviceState) {}

  get canLabel(): boolean {
    return this.role === 'labeler' || this.role === 'engineer' || this.role === 'admin';
  }

  /** Takes the role remembered on this device and syncs periodically. */
  async start(): Promise<void> {
    this.role = (await readValue<Role>('role')) ?? null;
    this.shareImages = await loadShareChoice();
    // A confirm in its undo window is queued at once when the page is hidden or closed: it is never lost.
    addEventListener('pagehide', () => void this.confirms.commitAll());
    document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && void this.confirms.commitAll());
    const { project } = this.device.settings;
    if (project) this.collectImages = await rememberedCollect(project);
    setInterval(() => void this.sync(), SYNC_MS);
  }

  /** The token or project changed: what the hub refused under the old ones may be accepted now. */
  async credentialsChanged(): Promise<void> {
    this.credentialsProblem = '';
    await requeueRefused();
  }

  /** The token's role (which decides whether labeling is offered); remembered for offline use. */
  async identify(): Promise<void> {
    const { token } = this.device.settings;
    if (!token || !this.device.online) return;
    try {
      const client = hubClient(token);
      this.role = (await client.auth.whoami.query()).role;
      await writeValue('role', this.role);
      // Every role is told whether the project collects images of reviewed predictions (Settings says so).
      if (this.device.settings.project) await this.loadLabelingSettings(client, this.device.settings.project);
    } catch (error) {
      if (hubCode(error) === undefined) void probeHub();
      // whoami names no project: a refusal here is about the token itself (unknown, revoked, no project scope).
      this.credentialsProblem = credentialsProblem(error) ?? this.credentialsProblem;
    }
  }

  /** Remembers a labeler's choice to share the images they label (the Classify and Label views both offer it). */
  async setShareImages(share: boolean): Promise<void> {
    this.shareImages = share;
    await saveShareChoice(share);
  }

  /**
   * Confirms the predicted label after an undo window (UNDO_MS): the label is queued (label()) unless undoConfirm
   * takes it back first. Corrections (another label, "none of these") are deliberate choices and are queued at once.
   */
  confirm(predictionId: string, label: string, assignmentId?: string): void {
    this.confirms.hold(predictionId, assignmentId ? { label, assignmentId } : { label });
  }

  /** Takes a confirm back within its window; false when it was queued already. */
  undoConfirm(predictionId: string): boolean {
    return this.confirms.undo(predictionId) !== undefined;
  }

  /** Queues a prediction made here for the hub, and keeps it in the device's history. */
  async record(prediction: Prediction): Promise<void> {
    await enqueue({ kind: 'prediction', project: prediction.project, event: prediction.event }, prediction.entry);
    await this.afterEnqueue();
  }

  /**
   * Takes a batch from the hub's review queue: which of this device's unlabelled predictions to label next, in the
   * policy's order (the hub marks them shown to this labeler), and keeps it in IndexedDB. Offline, or when the hub
   * cannot answer, the kept batch goes on (its labelled slots dropped); with none, the device's own order.
   */
  async loadReviews(): Promise<void> {
    const { token, project } = this.device.settings;
    if (!token || !project || !this.canLabel) {
      this.reviews = null;
      return;
    }
    const labelled = new Set(this.history.filter((h) => h.groundTruth).map((h) => h.id));
    if (this.device.online) {
      try {
        const client = hubClient(token);
        await this.loadLabelingSettings(client, project);
        // Only among the predictions this device holds: it can show no others (their images never left their devices).
        const predictionIds = this.history.filter((h) => h.project === project && !h.groundTruth).map((h) => h.id);
        const reviews = predictionIds.length ? (await client.feedback.nextReviews.mutate({ project, limit: REVIEW_BATCH, predictionIds })).reviews : [];
        const batch: StoredReviewBatch = { project, takenAt: Date.now(), reviews: reviews.map(({ predictionId, assignmentId, component }) => ({ predictionId, assignmentId, component })) };
        await writeValue(REVIEW_BATCH_KEY, batch);
        this.reviews = openSlots(batch, project, labelled);
        return;
      } catch {
        // Fall through to the kept batch.
      }
    }
    this.reviews = openSlots(await readValue<StoredReviewBatch>(REVIEW_BATCH_KEY), project, labelled);
    this.collectImages = await rememberedCollect(project);
  }

  /** Whether the project collects images of reviewed predictions; remembered per project for offline use. */
  private async loadLabelingSettings(client: ReturnType<typeof hubClient>, project: string): Promise<void> {
    try {
      this.collectImages = (await client.labeling.settings.get.query({ project })).collectReviewedImages;
      await writeValue(`${COLLECT_KEY}:${project}`, this.collectImages);
    } catch {
      this.collectImages = await rememberedCollect(project);
    }
  }

  /**
   * A labeler confirms (the predicted label), corrects, or says "none of these labels / unusable" (label null); works
   * offline like everything else. With `shareImages` on (source 'review'), or when the project collects images of
   * reviewed predictions (source 'device'), the image goes to the hub's review inbox with that label; an unusable
   * one is not sent. `assignmentId`: the hub's review assignment the label answers, when its queue asked for it.
   */
  async label(predictionId: string, label: string | null, assignmentId?: string): Promise<void> {
    this.confirms.undo(predictionId); // a label given while a confirm of the same prediction waits replaces it
    const entry = await (await localDb()).get('history', predictionId);
    if (!entry) return;
    const at = new Date().toISOString();
    const sending = label !== null && (this.shareImages || this.collectImages);
    const source = this.shareImages ? ('review' as const) : ('device' as const);
    // An image that could not be kept for sharing says so instead of silently not uploading.
    const share = !sending ? {} : entry.image ? { share: { state: 'waiting' as const, source } } : { share: { state: 'not sent' as const, error: entry.imageNote, source } };
    await enqueue(
      { kind: 'correction', project: entry.project, event: correctionEvent({ id: crypto.randomUUID(), predictionId, label, at, assignmentId }) },
      { ...entry, groundTruth: label === null ? { label: null, unusable: true, at } : { label, at }, ...share },
    );
    if (this.reviews) this.reviews = this.reviews.filter((r) => r.predictionId !== predictionId);
    await this.afterEnqueue();
  }

  private async afterEnqueue(): Promise<void> {
    await this.refreshLocal();
    if (this.device.online) void this.sync();
    else void requestBackgroundSync();
  }

  /** Sends the outbox now; what cannot be sent stays queued (Background Sync retries when back online). */
  async sync(): Promise<void> {
    // Without a token, or with one the hub refused, events wait on the device until Settings change.
    const { token } = this.device.settings;
    if (!token || this.credentialsProblem) {
      await this.refreshLocal();
      return;
    }
    clearTimeout(this.retry);
    try {
      await flushOutbox(hubSender(token));
      await this.uploadSharedImages();
      this.syncProblem = '';
      this.retryMs = RETRY_FIRST_MS;
    } catch (error) {
      if (error instanceof CredentialsRefused) {
        this.syncProblem = '';
        this.credentialsProblem = error.message;
        await this.refreshLocal();
        return;
      }
      const online = await probeHub();
      this.syncProblem = online ? syncProblem(error) : '';
      void requestBackgroundSync();
      // Retry soon, then less and less often (the periodic sync still runs).
      this.retry = setTimeout(() => void this.sync(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, SYNC_MS);
    }
    await this.refreshLocal();
  }

  /**
   * Uploads the images labelers shared (presigned PUT straight to the object store), each first fitted to its
   * project's pixel limit. What the hub refuses is not sent again (the entry says why); other failures stay waiting.
   */
  private async uploadSharedImages(): Promise<void> {
    if (this.uploadingImages) return;
    this.uploadingImages = true;
    try {
      const db = await localDb();
      const client = hubClient(this.device.settings.token);
      const limits = new Map<string, number>();
      const limitOf = async (project: string) => {
        if (!limits.has(project)) limits.set(project, (await client.projects.get.query({ project })).maxImagePixels);
        return limits.get(project)!;
      };
      for (const entry of await db.getAll('history')) {
        if (entry.share?.state !== 'waiting' || !entry.image || !entry.groundTruth?.label) continue;
        const source = entry.share.source ?? 'review';
        let share: HistoryEntry['share'];
        let note: string | undefined;
        try {
          const fitted = await fitForUpload(entry.image, await limitOf(entry.project));
          if (!fitted.image) share = { state: 'not sent', error: fitted.note, source };
          else {
            note = fitted.note ?? undefined;
            // The image of this prediction: the hub holds it in its review inbox until a person or a rule accepts it.
            const sent = await uploadImage(client, fitted.image, { project: entry.project, label: entry.groundTruth.label, split: 'train' }, `image of prediction ${entry.id}`, {
              predictionId: entry.id,
              source,
            });
            share = { state: 'uploaded', note, source, ...(sent.review ? { review: sent.review } : {}) };
          }
        } catch (error) {
          const code = hubCode(error);
          const message = plainError(error, { action: 'upload the image' });
          if (code === 'CONFLICT') share = { state: 'already in the dataset', note, source };
          else if (code === 'BAD_REQUEST' || code === 'PAYLOAD_TOO_LARGE') share = { state: 'not sent', error: message, note, source };
          else share = { state: 'waiting', error: message, note, source };
        }
        // Patch the entry as it is now: a label given during the upload must stay.
        const tx = db.transaction('history', 'readwrite');
        const current = await tx.store.get(entry.id);
        if (current) await tx.store.put({ ...current, share });
        await tx.done;
      }
    } finally {
      this.uploadingImages = false;
    }
  }

  /** Reads the outbox counts and the newest history from the device's database. */
  async refreshLocal(): Promise<void> {
    const db = await localDb();
    this.outbox = await outboxCounts();
    this.history = (await db.getAllFromIndex('history', 'createdAt')).reverse().slice(0, HISTORY_SHOWN);
  }
}
