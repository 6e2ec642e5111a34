import { IMAGE_CONTENT_TYPES, type ImageContentType, type Split } from '@edgeloop/shared';
import type { HubClient } from '../hub-client';

async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Uploads one image the way every browser client does: declare it to the hub, PUT the bytes straight
 * to the object store through the presigned URL, then ask the hub to verify and accept it.
 */
export async function uploadImage(client: HubClient, file: File, target: { project: string; label: string; split: Split }): Promise<string> {
  if (!(IMAGE_CONTENT_TYPES as readonly string[]).includes(file.type)) {
    throw new Error(`${file.name}: type ${file.type || 'unknown'} is not one of ${IMAGE_CONTENT_TYPES.join(', ')}`);
  }
  const bytes = await file.arrayBuffer();
  const ticket = await client.items.createUpload.mutate({
    ...target,
    sha256: await sha256Hex(bytes),
    bytes: bytes.byteLength,
    contentType: file.type as ImageContentType,
  });
  const put = await fetch(ticket.url, { method: 'PUT', body: bytes, headers: ticket.headers });
  if (!put.ok) throw new Error(`${file.name}: the object store refused the upload (HTTP ${put.status})`);
  const item = await client.items.completeUpload.mutate({ uploadId: ticket.uploadId });
  return item.sha256;
}
