import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { startHousekeeping } from '../housekeeping';
import { encodeGreyscalePng } from '../images/png';
import * as uploads from './upload.repository';
import { expireUploads } from './upload.service';

const png = (value: number) => Buffer.from(encodeGreyscalePng(new Uint8Array(16).fill(value), 4, 4));
const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

describe.each(DATABASES)('abandoned uploads on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  const start = new Date();
  let now = start;

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    hub.deps.now = () => now;
    await (await hub.as('admin')).projects.create({ slug: 'shapes', labels: ['circle', 'square'] });
  });
  afterAll(() => hub?.close());

  /** An upload whose bytes were PUT but never completed, as a closed browser tab leaves it. */
  async function abandonedUpload(value: number): Promise<string> {
    const bytes = png(value);
    const ticket = await (await hub.as('labeler')).items.createUpload({ project: 'shapes', sha256: sha256(bytes), bytes: bytes.length, contentType: 'image/png', label: 'circle' });
    expect((await fetch(ticket.url, { method: 'PUT', body: bytes, headers: ticket.headers })).status).toBe(200);
    return ticket.uploadId;
  }
  const state = async (uploadId: string) => ({
    row: (await uploads.find(hub.deps.db, uploadId)) !== null,
    staged: (await hub.deps.store.head(`uploads/${uploadId}`)) !== null,
  });

  it.skipIf(skip)('are removed, rows and staged objects, once expired; uploads in progress are kept', async () => {
    const old = await abandonedUpload(1);
    now = new Date(start.getTime() + 20 * 60 * 1000);
    const recent = await abandonedUpload(2);
    // The old one expired 5 minutes ago: a PUT that began before its expiry may still be arriving.
    expect(await expireUploads(hub.deps)).toBe(0);
    now = new Date(start.getTime() + 30 * 60 * 1000);
    expect(await expireUploads(hub.deps)).toBe(1);
    expect(await state(old)).toEqual({ row: false, staged: false });
    expect(await state(recent)).toEqual({ row: true, staged: true });
  });

  it.skipIf(skip)('are expired by the hub at start and every few minutes', async () => {
    const first = await abandonedUpload(3);
    now = new Date(now.getTime() + 60 * 60 * 1000);
    const housekeeping = startHousekeeping(hub.deps, { intervalMs: 50 });
    try {
      await housekeeping.started;
      expect(await state(first)).toEqual({ row: false, staged: false });
      const second = await abandonedUpload(4);
      now = new Date(now.getTime() + 60 * 60 * 1000);
      await expect.poll(() => state(second), { timeout: 5000 }).toEqual({ row: false, staged: false });
    } finally {
      await housekeeping.stop();
    }
  });
});
