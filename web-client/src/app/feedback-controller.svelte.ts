/**
 * The PWA's feedback side: who the token is (which decides whether labeling is offered), predictions and labels
 * going into the outbox, syncing it with the hub, and uploading the images labelers share.
 */
import type { Role } from '@edgeloop/shared';
import { hubClient, hubCode } from '../hub-client';
import { uploadImage } from '../upload-image';
import { probeHub } from './connectivity';
import { fitForUpload } from './image-pixels';
import { type HistoryEntry, localDb, readValue, writeValue } from './local-db';
import type { Prediction } from './model-controller.svelte';
import { CredentialsRefused, type OutboxCounts, enqueue, flushOutbox, outboxCounts, requeueRefused } from './outbox';
import { credentialsProblem, hubSender } from './outbox-sender';
import { requestBackgroundSync } from './outbox-sync';
import { type ReviewSlot, correctionEvent } from './review-order';
import type { Settings } from './settings';

const SYNC_MS = 30_000;
const RETRY_FIRST_MS = 1_000;

/** What feedback follows of the device: its settings (the token, the project) and whether the hub answers. */
export interface DeviceState {
  readonly settings: Settings;
  readonly online: boolean;
}

export class FeedbackController {
  role = $state<Role | null>(null);
  outbox = $state<OutboxCounts>({ waiting: 0, refused: [] });
  syncProblem = $state('');
  /** Set when the hub refused this token or project: events stay on the device and nothing is retried until Settings change. */
  credentialsProblem = $state('');
  history = $state<HistoryEntry[]>([]);
  /** A labeler's consent: images labelled from now on are added to the project's training data. */
  shareImages = $state(false);
  /** The hub's review queue as last asked (the labeling view's order); null offline or before asking: local order. */
  reviews = $state<ReviewSlot[] | null>(null);

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
      this.role = (await hubClient(token).auth.whoami.query()).role;
      await writeValue('role', this.role);
    } catch (error) {
      if (hubCode(error) === undefined) void probeHub();
      // whoami names no project: a refusal here is about the token itself (unknown, revoked, no project scope).
      this.credentialsProblem = credentialsProblem(error) ?? this.credentialsProblem;
    }
  }

  /** Queues a prediction made here for the hub, and keeps it in the device's history. */
  async record(prediction: Prediction): Promise<void> {
    await enqueue({ kind: 'prediction', project: prediction.project, event: prediction.event }, prediction.entry);
    await this.afterEnqueue();
  }

  /**
   * Asks the hub's review policy which of this device's unlabelled predictions to label next, in its order (it marks
   * them shown to this labeler). Offline, or when the hub cannot answer, the view keeps the device's own order.
   */
  async loadReviews(): Promise<void> {
    const { token, project } = this.device.settings;
    if (!token || !project || !this.device.online || !this.canLabel) {
      this.reviews = null;
      return;
    }
    try {
      // Only among the predictions this device holds: it can show no others (their images never left their devices).
      const predictionIds = this.history.filter((h) => h.project === project && !h.groundTruth).map((h) => h.id);
      if (!predictionIds.length) {
        this.reviews = null;
        return;
      }
      const { reviews } = await hubClient(token).feedback.nextReviews.mutate({ project, limit: 50, predictionIds });
      this.reviews = reviews.map(({ predictionId, assignmentId, component }) => ({ predictionId, assignmentId, component }));
    } catch {
      this.reviews = null;
    }
  }

  /**
   * A labeler confirms (the predicted label) or corrects a prediction; works offline like everything else. With
   * `shareImages` on, the image also goes to the project's working set with that label, for the next training data.
   * `assignmentId`: the hub's review assignment the label answers, when its queue asked for this prediction.
   */
  async label(predictionId: string, label: string, assignmentId?: string): Promise<void> {
    const entry = await (await localDb()).get('history', predictionId);
    if (!entry) return;
    const at = new Date().toISOString();
    // An image that could not be kept for sharing says so instead of silently not uploading.
    const share = !this.shareImages ? {} : entry.image ? { share: { state: 'waiting' as const } } : { share: { state: 'not sent' as const, error: entry.imageNote } };
    await enqueue(
      { kind: 'correction', project: entry.project, event: correctionEvent({ id: crypto.randomUUID(), predictionId, label, at, assignmentId }) },
      { ...entry, groundTruth: { label, at }, ...share },
    );
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
      this.syncProblem = online ? `sync failed, will retry: ${(error as Error).message}` : '';
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
        if (entry.share?.state !== 'waiting' || !entry.image || !entry.groundTruth) continue;
        let share: HistoryEntry['share'];
        let note: string | undefined;
        try {
          const fitted = await fitForUpload(entry.image, await limitOf(entry.project));
          if (!fitted.image) share = { state: 'not sent', error: fitted.note };
          else {
            note = fitted.note ?? undefined;
            await uploadImage(client, fitted.image, { project: entry.project, label: entry.groundTruth.label, split: 'train' }, `image of prediction ${entry.id}`);
            share = { state: 'uploaded', note };
          }
        } catch (error) {
          const code = hubCode(error);
          const message = (error as Error).message;
          if (code === 'CONFLICT') share = { state: 'already in the dataset', note };
          else if (code === 'BAD_REQUEST' || code === 'PAYLOAD_TOO_LARGE') share = { state: 'not sent', error: message, note };
          else share = { state: 'waiting', error: message, note };
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
    this.history = (await db.getAllFromIndex('history', 'createdAt')).reverse().slice(0, 100);
  }
}
