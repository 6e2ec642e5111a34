/**
 * What the hub gave with the page on a first visit (hub/src/registry/device-start.ts): its trusted keys and the
 * channel's signed texts, each taken once by the model check that would otherwise fetch it. Nothing here is trusted
 * for being here: the texts are verified as fetched ones are.
 */
import { type DeviceStart, type TrustedKeySet, DEVICE_START_ELEMENT_ID, cdnUrl, deviceStartSchema } from '@edgeloop/shared';

let start: { keys: TrustedKeySet | null; texts: Map<string, string> } | null = null;

function pageStart(): NonNullable<typeof start> {
  if (start) return start;
  const element = typeof document === 'undefined' ? null : document.getElementById(DEVICE_START_ELEMENT_ID);
  let parsed: DeviceStart | null = null;
  try {
    parsed = element?.textContent ? deviceStartSchema.parse(JSON.parse(element.textContent)) : null;
  } catch {
    parsed = null; // the checks fetch what they need instead
  }
  // Keyed by the absolute URL the model check would fetch: the CDN base resolved against the page.
  const texts = new Map(Object.entries(parsed?.objects ?? {}).map(([key, text]) => [new URL(cdnUrl(parsed!.keys.cdnBaseUrl, key), location.href).href, text]));
  start = { keys: parsed?.keys ?? null, texts };
  return start;
}

/** The hub's key set given with the page, once; null when there was none (or it was taken). */
export function takeStartKeys(): TrustedKeySet | null {
  const { keys } = pageStart();
  pageStart().keys = null;
  return keys;
}

/** The text the page was given for this URL, once; null when there was none (or it was taken). */
export function takeStartText(url: string): string | null {
  const { texts } = pageStart();
  const text = texts.get(url) ?? null;
  texts.delete(url);
  return text;
}
