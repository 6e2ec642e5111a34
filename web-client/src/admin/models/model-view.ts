/** The Models section's words: sizes, accuracies, channel moves and the questions a move asks before it happens. */
import { MODEL_FORMATS, type ModelFormat, type WeightFormats } from '@edgeloop/shared';
import type { RouterOutputs } from '../../hub-client';

export type ModelDetail = RouterOutputs['registry']['versions'];
export type ChannelMove = ModelDetail['history'][number];

/** Bytes for people: "812 B", "41.2 KiB", "3.40 MiB". */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '–';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export const percent = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined || Number.isNaN(x) ? '–' : `${(x * 100).toFixed(digits)}%`);

/** One row per encoding the gate looked at, in MODEL_FORMATS order: size, accuracy and the gate's verdict in words. */
export function encodingRows(formats: WeightFormats, recommended: ModelFormat) {
  return MODEL_FORMATS.flatMap((format) => {
    const f = formats[format];
    if (!f) return [];
    const verdict = f.published
      ? format === 'float32'
        ? 'published (the reference)'
        : `published: ${f.drop <= 0 ? 'no accuracy lost' : `${f.drop.toFixed(2)} points below float32`}`
      : `refused: ${f.reason ?? `${f.drop.toFixed(2)} points below float32`}`;
    return [{ format, size: f.published ? formatBytes(f.bytes) : '–', accuracy: percent(f.accuracy), published: f.published, recommended: format === recommended, verdict }];
  });
}

/** A channel move as the history says it: "promote production v1 → v2", "started a canary of v3 on production (others on v2)". */
export function moveText(e: ChannelMove): string {
  if (e.action === 'canary') return `started a canary of v${e.to} on ${e.channel} (others on v${e.from})`;
  if (e.action === 'canary-abort') return `rolled back the canary of v${e.from} on ${e.channel} (all on v${e.to})`;
  return `${e.action} ${e.channel} ${e.from ? `v${e.from} → ` : ''}v${e.to}`;
}

/** What a promote will change, asked before it happens. */
export function promoteQuestion(channel: string, from: number | null, to: number): string {
  if (from === to) return `${channel} already runs v${to} on every device: promoting it again changes nothing.`;
  return from === null ? `Point ${channel} to v${to} for every device? It points to no version yet.` : `Move ${channel} from v${from} to v${to} for every device?`;
}

export function rollbackQuestion(channel: string, from: number, to: number): string {
  return `Move ${channel} back from v${from} to v${to} for every device? This undoes the latest promote.`;
}

export function canaryQuestion(channel: string, from: number | null, to: number, sharePercent: number): string {
  if (from === null) return `${channel} points to no version yet: promote one first, a canary is compared with it.`;
  return `Send v${to} to ${sharePercent}% of the devices on ${channel}, the others staying on v${from}?`;
}
