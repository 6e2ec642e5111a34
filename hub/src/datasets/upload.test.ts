import crypto from 'node:crypto';
import { MAX_IMAGE_BYTES } from '@edgeloop/shared';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { createToken } from '../auth/token.service';
import { encodeGreyscalePng } from '../images/png';
import { solidPng } from '../../test/image-bomb';
import * as uploads from './upload.repository';

const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');
const png = async (value: number) => encodeGreyscalePng(new Uint8Array(16).fill(value), 4, 4);

describe.each(DATABASES)('browser uploads through presigned URLs on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let labeler: Awaited<ReturnType<TestHub['as']>>;
  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('admin')).projects.create({ slug: 'shapes', labels: ['circle', 'square'] });
    labeler = await hub.as('labeler');
  });
  afterAll(() => hub?.close());

  async function upload(bytes: Buffer, declared: Partial<{ sha256: string; bytes: number; label: string }> = {}, sent: Buffer = bytes) {
    const ticket = await labeler.items.createUpload({
      project: 'shapes',
      sha256: declared.sha256 ?? sha256(bytes),
      bytes: declared.bytes ?? bytes.length,
      contentType: 'image/png',
      label: declared.label ?? 'circle',
    });
    const put = await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(sent), headers: ticket.headers });
    return { ticket, put };
  }

  async function isOpen(uploadId: string) {
    return (await uploads.find(hub.deps.db, uploadId)) !== null;
  }

  it.skipIf(skip)('accepts a verified image and lists it as an item', async () => {
    const bytes = await png(10);
    const { ticket, put } = await upload(bytes);
    expect(put.status).toBe(200);
    const item = await labeler.items.completeUpload({ uploadId: ticket.uploadId });
    expect(item).toEqual({ sha256: sha256(bytes), label: 'circle', split: 'train', project: 'shapes', review: null });
    const listed = await labeler.items.list({ project: 'shapes' });
    expect(listed.items.map((i) => i.sha256)).toContain(sha256(bytes));
    expect(await isOpen(ticket.uploadId)).toBe(false);
  });

  it.skipIf(skip)('refuses a duplicate item before and after upload', async () => {
    const bytes = await png(10);
    await expect(upload(bytes)).rejects.toThrow(/duplicate item: project "shapes" already has an image with sha256/);
  });

  it.skipIf(skip)('refuses bytes that are not an image, and keeps nothing', async () => {
    const bytes = Buffer.from('definitely not a png, just text');
    const { ticket, put } = await upload(bytes);
    expect(put.status).toBe(200);
    await expect(labeler.items.completeUpload({ uploadId: ticket.uploadId })).rejects.toThrow(/is not a decodable PNG, JPEG or WebP image/);
    expect(await isOpen(ticket.uploadId)).toBe(false);
    expect(await hub.deps.store.get(`uploads/${ticket.uploadId}`)).toBeNull();
  });

  it.skipIf(skip)("refuses an image above the project's pixel limit from its header, without decoding it", async () => {
    // 250 KB on the wire, 16000 x 16000 decoded: it used to cost a gigabyte of memory to verify.
    const bomb = await solidPng(16_000, 16_000);
    expect(bomb.length).toBeLessThan(400_000);
    const { ticket } = await upload(bomb);
    const started = performance.now();
    const refused = await labeler.items.completeUpload({ uploadId: ticket.uploadId }).catch((e: unknown) => e as TRPCError);
    expect(refused).toBeInstanceOf(TRPCError);
    expect((refused as TRPCError).code).toBe('PAYLOAD_TOO_LARGE');
    expect((refused as TRPCError).message).toBe(`upload ${ticket.uploadId} is 16000 x 16000 = 256000000 pixels; the project accepts at most 16777216 (maxImagePixels)`);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await isOpen(ticket.uploadId)).toBe(false);

    // A project's own limit, below the default.
    await (await hub.as('admin')).projects.create({ slug: 'thumbs', labels: ['circle', 'square'], maxImagePixels: 64 * 64 });
    const thumbsLabeler = await hub.as('labeler', { projects: ['thumbs'] });
    expect(await thumbsLabeler.projects.get({ project: 'thumbs' })).toMatchObject({ maxImagePixels: 4096 });
    expect(await labeler.projects.get({ project: 'shapes' })).toMatchObject({ maxImagePixels: 4096 * 4096 });
    const small = await solidPng(64, 64);
    const large = await solidPng(65, 64);
    for (const [bytes, accepted] of [[small, true], [large, false]] as const) {
      const ticket = await thumbsLabeler.items.createUpload({ project: 'thumbs', sha256: sha256(bytes), bytes: bytes.length, contentType: 'image/png', label: 'square' });
      await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(bytes), headers: ticket.headers });
      const done = thumbsLabeler.items.completeUpload({ uploadId: ticket.uploadId });
      if (accepted) await expect(done).resolves.toMatchObject({ project: 'thumbs' });
      else await expect(done).rejects.toThrow(/is 65 x 64 = 4160 pixels; the project accepts at most 4096 \(maxImagePixels\)$/);
    }
    await expect((await hub.as('admin')).projects.create({ slug: 'huge', labels: ['a', 'b'], maxImagePixels: 1e9 })).rejects.toThrow(
      'maxImagePixels: maxImagePixels must be at most 67108864 (8192 x 8192)',
    );
  });

  it.skipIf(skip)('refuses bytes whose hash is not the declared one', async () => {
    const bytes = await png(20);
    const other = await png(21);
    const { ticket } = await upload(bytes, { sha256: sha256(other) });
    await expect(labeler.items.completeUpload({ uploadId: ticket.uploadId })).rejects.toThrow(/sha256: declared [0-9a-f]{64}, received bytes hash to/);
    const { total } = await labeler.items.list({ project: 'shapes' });
    expect(total).toBe(1);
  });

  it.skipIf(skip)('refuses an oversize declaration, and a PUT of another size than declared', async () => {
    await expect(
      labeler.items.createUpload({ project: 'shapes', sha256: 'a'.repeat(64), bytes: MAX_IMAGE_BYTES + 1, contentType: 'image/png', label: 'circle' }),
    ).rejects.toThrow(/exceeds the upload limit of 10485760 bytes/);
    const bytes = await png(30);
    const bigger = Buffer.concat([bytes, Buffer.alloc(100)]);
    const { ticket, put } = await upload(bytes, {}, bigger);
    expect(put.status).toBe(403);
    await expect(labeler.items.completeUpload({ uploadId: ticket.uploadId })).rejects.toThrow(/nothing has been uploaded/);
  });

  it.skipIf(skip)('refuses an unknown label, naming the valid ones', async () => {
    await expect(upload(await png(40), { label: 'triangle' })).rejects.toThrow(/label "triangle" is not a label of project "shapes"; valid labels: circle, square/);
  });

  it.skipIf(skip)('refuses a tampered presigned URL and another content type', async () => {
    const bytes = await png(50);
    const ticket = await labeler.items.createUpload({ project: 'shapes', sha256: sha256(bytes), bytes: bytes.length, contentType: 'image/png', label: 'square' });
    const tampered = ticket.url.replace(`uploads/${ticket.uploadId}`, `objects/sha256/${sha256(bytes)}`);
    expect((await fetch(tampered, { method: 'PUT', body: new Uint8Array(bytes), headers: ticket.headers })).status).toBe(403);
    const expiryStretched = ticket.url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604800');
    expect((await fetch(expiryStretched, { method: 'PUT', body: new Uint8Array(bytes), headers: ticket.headers })).status).toBe(403);
    expect((await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': 'image/jpeg' } })).status).toBe(403);
    expect((await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(bytes) })).status).toBe(403);
  });

  it.skipIf(skip)('refuses an expired upload', async () => {
    const bytes = await png(60);
    const { ticket } = await upload(bytes);
    const realNow = hub.deps.now;
    hub.deps.now = () => new Date(realNow().getTime() + 16 * 60 * 1000);
    try {
      await expect(labeler.items.completeUpload({ uploadId: ticket.uploadId })).rejects.toThrow(/expired at .* start a new upload/);
    } finally {
      hub.deps.now = realNow;
    }
    expect(await isOpen(ticket.uploadId)).toBe(false);
  });

  it.skipIf(skip)('lets only the uploader (or an admin) complete an upload', async () => {
    const bytes = await png(70);
    const { ticket } = await upload(bytes);
    const engineer = await hub.as('engineer');
    await expect(engineer.items.completeUpload({ uploadId: ticket.uploadId })).rejects.toThrow(/no upload .* in progress/);
    await expect((await hub.as('admin')).items.completeUpload({ uploadId: ticket.uploadId })).resolves.toMatchObject({ label: 'circle' });
  });

  it.skipIf(skip)('keeps two tokens with the same name from completing each other\'s uploads', async () => {
    const phone = async () => hub.withSecret((await createToken(hub.deps, { name: 'phone', role: 'labeler', createdBy: 'test', projects: ['shapes'] })).secret);
    const [mine, theirs] = [await phone(), await phone()];
    const bytes = await png(80);
    const ticket = await mine.items.createUpload({ project: 'shapes', sha256: sha256(bytes), bytes: bytes.length, contentType: 'image/png', label: 'square' });
    expect((await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(bytes), headers: ticket.headers })).status).toBe(200);
    await expect(theirs.items.completeUpload({ uploadId: ticket.uploadId })).rejects.toThrow(/no upload .* in progress/);
    await expect(mine.items.completeUpload({ uploadId: ticket.uploadId })).resolves.toMatchObject({ label: 'square' });
  });
});
