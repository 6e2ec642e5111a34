import { IMAGE_CONTENT_TYPES, type ImageContentType, type Split, sha256Hex } from '@edgeloop/shared';
import type { HubClient } from './hub-client';

/**
 * Uploads one image the way every browser client does: declare it to the hub, PUT the bytes straight
 * to the object store through the presigned URL, then ask the hub to verify and accept it.
 */
export async function uploadImage(
  client: HubClient,
  image: Blob,
  target: { project: string; label: string; split: Split },
  name = 'image',
  /** The image is of this prediction: the hub holds it in its review inbox (pending) instead of the working set. */
  review?: { predictionId: string; source: 'review' | 'device' },
): Promise<{ sha256: string; review: 'pending' | 'accepted' | 'rejected' | null }> {
  if (!(IMAGE_CONTENT_TYPES as readonly string[]).includes(image.type)) {
    throw new Error(`${name}: type ${image.type || 'unknown'} is not one of ${IMAGE_CONTENT_TYPES.join(', ')}`);
  }
  const bytes = await image.arrayBuffer();
  const ticket = await client.items.createUpload.mutate({
    ...target,
    sha256: await sha256Hex(bytes),
    bytes: bytes.byteLength,
    contentType: image.type as ImageContentType,
  });
  const put = await fetch(ticket.url, { method: 'PUT', body: bytes, headers: ticket.headers });
  if (!put.ok) throw new Error(`${name}: the object store refused the upload (HTTP ${put.status})`);
  const item = await client.items.completeUpload.mutate({ uploadId: ticket.uploadId, ...(review ?? {}) });
  return { sha256: item.sha256, review: item.review?.status ?? null };
}
