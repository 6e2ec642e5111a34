/**
 * Signing of alert webhooks: each project has its own secret (32 random bytes, hex), kept as an owner-only file in the
 * hub's keys directory like the signing keys (never in the database), and shown to engineers when they set a webhook
 * so the receiver can check that a call came from this hub and was not replayed:
 *   x-edgeloop-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * (the scheme Stripe and GitHub receivers already know how to check: a timestamp against replays, a constant-time
 * comparison of the MAC).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createPrivateFileAtomic, ensurePrivateDir } from '../storage/private-dir';

export const WEBHOOK_SIGNATURE_HEADER = 'x-edgeloop-signature';
/** A receiver should refuse a call whose timestamp is further than this from its clock. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const SECRET = /^[0-9a-f]{64}$/;

/** The project's webhook secret, made on first use; every hub process sharing the keys directory reads the same one. */
export function webhookSecret(keysDir: string, projectId: string): string {
  const dir = path.join(keysDir, 'webhooks');
  ensurePrivateDir(dir);
  const file = path.join(dir, `${projectId}.secret`);
  // Exclusive create: two processes making the first secret at once keep the one that landed first.
  if (!fs.existsSync(file)) createPrivateFileAtomic(file, crypto.randomBytes(32).toString('hex'));
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (!SECRET.test(secret)) throw new Error(`${file} does not hold a webhook secret (64 hex characters)`);
  return secret;
}

export function signWebhook(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** What a receiver does: the header's MAC matches the body and its time is within the tolerance of `now`. */
export function verifyWebhook(secret: string, body: string, header: string, now: Date, toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, body, new Date(t * 1000)).split('v1=')[1]!, 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}
