import crypto from 'node:crypto';
import { type ImageContentType, MAX_IMAGE_BYTES, type ReviewItemSource, type Split, objectKeyForSha256, splitForSha256 } from '@edgeloop/shared';
import type { Caller, HubDeps } from '../deps';
import { HubError, badRequest, conflict, notFound } from '../errors';
import { type ReviewItemOutcome, assertReviewedImageAllowed, receiveReviewedImage } from '../feedback/review-item.service';
import { decodeImage } from '../images/decode';
import type { Project } from '../projects/project.repository';
import { assertKnownLabel, getProject, getProjectById } from '../projects/project.service';
import * as items from './item.repository';
import * as uploads from './upload.repository';

const UPLOAD_TTL_SECONDS = 15 * 60;
/** An expired upload is removed this long after its expiry, so a PUT that started just before it can finish. */
const EXPIRED_UPLOAD_GRACE_MS = 10 * 60 * 1000;

const stagingKey = (uploadId: string) => `uploads/${uploadId}`;

export interface UploadTicket {
  uploadId: string;
  /** PUT the bytes here with exactly these headers. */
  url: string;
  headers: { 'content-type': ImageContentType };
  expiresAt: string;
}

/**
 * Step 1 of a browser upload: the client declares hash, size, type and label; the hub checks them and
 * returns a presigned PUT to a staging key that accepts exactly that size and type until it expires.
 */
export async function createUpload(
  deps: HubDeps,
  caller: Caller,
  input: { project: string; sha256: string; bytes: number; contentType: ImageContentType; label: string; split: Split },
): Promise<UploadTicket> {
  const project = await getProject(deps, input.project);
  assertKnownLabel(project, input.label);
  if (input.bytes > MAX_IMAGE_BYTES) {
    throw new HubError('PAYLOAD_TOO_LARGE', `bytes ${input.bytes} exceeds the upload limit of ${MAX_IMAGE_BYTES} bytes`);
  }
  await assertNotInProject(deps, project, input.sha256);
  const expiresAt = new Date(deps.now().getTime() + UPLOAD_TTL_SECONDS * 1000);
  const uploadId = await uploads.create(deps.db, {
    projectId: project.id,
    sha256: input.sha256,
    bytes: input.bytes,
    contentType: input.contentType,
    label: input.label,
    split: input.split,
    createdBy: caller.name,
    createdByTokenId: caller.tokenId,
    createdAt: deps.now(),
    expiresAt,
  });
  const url = await deps.store.presignPut(stagingKey(uploadId), {
    contentType: input.contentType,
    bytes: input.bytes,
    expiresInSeconds: UPLOAD_TTL_SECONDS,
  });
  return { uploadId, url, headers: { 'content-type': input.contentType }, expiresAt: expiresAt.toISOString() };
}

/** The slug of the project an upload in progress belongs to, or null when there is no such upload (any string is safe to pass). */
export const projectOfUpload = (deps: HubDeps, uploadId: string): Promise<string | null> => uploads.projectSlugOf(deps.db, uploadId);

/**
 * Step 2: the hub reads the staged bytes and accepts the item only if size, sha256 and image decoding
 * all check out. Success or failure, the staged object and the upload record are removed. An image of a prediction
 * (`predictionId`; `source` 'review' when the labeler shared it, 'device' when the project collects them) becomes a
 * pending review item with the label as the uploader's vote (`review` says where it stands), not a working-set item.
 */
export async function completeUpload(
  deps: HubDeps,
  caller: Caller,
  input: { uploadId: string; predictionId?: string; source?: ReviewItemSource },
): Promise<{ sha256: string; label: string; split: Split; project: string; review: ReviewItemOutcome | null }> {
  const upload = await uploads.find(deps.db, input.uploadId);
  // Owned by the token that started it: names are not unique, so two tokens called "phone" are still strangers.
  const owner = upload !== null && upload.createdByTokenId !== null && upload.createdByTokenId === caller.tokenId;
  if (!upload || (!owner && caller.role !== 'admin')) {
    throw notFound(`no upload ${input.uploadId} in progress`);
  }
  const discard = async () => {
    await deps.store.delete(stagingKey(upload.id));
    await uploads.remove(deps.db, upload.id);
  };
  if (upload.expiresAt < deps.now()) {
    await discard();
    throw badRequest(`upload ${upload.id} expired at ${upload.expiresAt.toISOString()}; start a new upload`);
  }
  const bytes = await deps.store.get(stagingKey(upload.id));
  if (!bytes) throw badRequest(`nothing has been uploaded for upload ${upload.id} yet: PUT the bytes to its URL first`);

  try {
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== upload.bytes) throw badRequest(`bytes: declared ${upload.bytes}, received ${bytes.length}`);
    if (sha256 !== upload.sha256) throw badRequest(`sha256: declared ${upload.sha256}, received bytes hash to ${sha256}`);
    const project = await getProjectById(deps, upload.projectId);
    const image = await decodeImage(bytes, `upload ${upload.id}`, project.maxImagePixels);
    if (image.contentType !== upload.contentType) {
      throw badRequest(`contentType: declared ${upload.contentType}, but the bytes are ${image.contentType}`);
    }
    await assertNotInProject(deps, project, sha256);
    const blob = { sha256, bytes: bytes.length, contentType: image.contentType, width: image.width, height: image.height, createdAt: deps.now() };
    if (input.predictionId !== undefined) {
      // An image of a prediction waits in the review inbox (feedback's review items) instead of joining the working set.
      const review = { project, predictionId: input.predictionId, source: input.source ?? 'review', label: upload.label };
      await assertReviewedImageAllowed(deps, review);
      await deps.store.put(objectKeyForSha256(sha256), bytes, { contentType: image.contentType });
      await items.addImages(deps.db, [blob], []);
      const outcome = await receiveReviewedImage(deps, caller, { ...review, sha256 });
      return { sha256, label: outcome.label ?? upload.label, split: splitForSha256(sha256), project: project.slug, review: outcome };
    }
    await deps.store.put(objectKeyForSha256(sha256), bytes, { contentType: image.contentType });
    const now = deps.now();
    const added = await items.addImages(
      deps.db,
      [{ sha256, bytes: bytes.length, contentType: image.contentType, width: image.width, height: image.height, createdAt: now }],
      [{ projectId: upload.projectId, sha256, label: upload.label, split: upload.split, source: 'upload', createdAt: now, updatedAt: now }],
    );
    // Only a race with another upload of the same image gets here: an item implies its blob, so nothing else was written.
    if (added === 0) throw conflict(`duplicate item: project "${project.slug}" already has an image with sha256 ${sha256}`);
    return { sha256, label: upload.label, split: upload.split, project: project.slug, review: null };
  } finally {
    await discard();
  }
}

async function assertNotInProject(deps: HubDeps, project: Project, sha256: string): Promise<void> {
  const existing = await items.findInProject(deps.db, project.id, sha256);
  if (existing) {
    throw conflict(`duplicate item: project "${project.slug}" already has an image with sha256 ${sha256} (label "${existing.label}")`);
  }
}

/**
 * Removes uploads abandoned before completion: their rows and staged objects, once expired (plus a grace period).
 * The hub runs this at start and every few minutes. The object goes first, so an interrupted pass leaves the row
 * for the next one. Returns how many uploads were removed.
 */
export async function expireUploads(deps: HubDeps): Promise<number> {
  const before = new Date(deps.now().getTime() - EXPIRED_UPLOAD_GRACE_MS);
  let removed = 0;
  for (;;) {
    const expired = await uploads.expiredBefore(deps.db, before, 200);
    if (expired.length === 0) return removed;
    for (const id of expired) await deps.store.delete(stagingKey(id));
    await uploads.removeMany(deps.db, expired);
    removed += expired.length;
  }
}
