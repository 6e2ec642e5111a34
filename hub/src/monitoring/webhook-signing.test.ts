import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook, webhookSecret } from './webhook-signing';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-webhook-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('webhook signing', () => {
  it('keeps one owner-only secret per project, the same on every read', () => {
    const a = webhookSecret(dir, 'project-a');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(webhookSecret(dir, 'project-a')).toBe(a);
    expect(webhookSecret(dir, 'project-b')).not.toBe(a);
    expect(fs.statSync(path.join(dir, 'webhooks', 'project-a.secret')).mode & 0o077).toBe(0);
  });

  it('signs time and body; a receiver refuses another body, another secret, or an old call', () => {
    const secret = webhookSecret(dir, 'project-a');
    const at = new Date('2026-11-30T12:00:00Z');
    const body = JSON.stringify({ type: 'alert.opened' });
    const header = signWebhook(secret, body, at);
    expect(header).toMatch(/^t=1796040000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(secret, body, header, at)).toBe(true);
    expect(verifyWebhook(secret, body.replace('opened', 'resolved'), header, at)).toBe(false);
    expect(verifyWebhook(webhookSecret(dir, 'project-b'), body, header, at)).toBe(false);
    expect(verifyWebhook(secret, body, header, new Date(at.getTime() + 301_000))).toBe(false);
    expect(verifyWebhook(secret, body, 'garbage', at)).toBe(false);
  });
});
