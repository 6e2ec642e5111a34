/**
 * The PWA's page for a device's first visit (a link naming a project and a model), with what its first model check
 * needs given in the page: the trusted keys and the channel's signed pointer and manifest (shared/src/device-start.ts),
 * and preload links for the model files the device will download. Without them a first visit waits for four requests
 * one after another (keys, pointer, manifest, files) behind its own scripts; with them the files download while the
 * scripts do. Later visits never see this page: the service worker serves the app.
 */
import {
  type DeviceStart,
  DEVICE_START_ELEMENT_ID,
  MAX_DEVICE_START_OBJECTS,
  cdnUrl,
  channelNameSchema,
  channelPointerKey,
  channelPointerSchema,
  deviceVariant,
  modelManifestSchema,
  modelNameSchema,
  projectSlugSchema,
} from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { signedPayload } from './stored-manifest';
import { trustedKeySet } from './trusted-key-set';

/** A page is not held up longer than this for what it could carry: without it the device asks for each itself. */
const START_DATA_WAIT_MS = 250;

/** An object-store key relative to another's folder, as pointers name manifests and manifests name files. */
const keyRelativeTo = (path: string, base: string) => new URL(path, `http://store/${base}`).pathname.slice(1);

/**
 * What a first visit with this query (project, model, channel) can be given: null when the query names no valid
 * channel. Without a published pointer only the keys are given. Files are preloaded only without a canary: the group,
 * and so the version, is the device's to decide.
 */
export async function deviceStartFor(deps: HubDeps, query: URLSearchParams): Promise<{ start: DeviceStart; preload: string[] } | null> {
  const project = projectSlugSchema.safeParse(query.get('project'));
  const model = modelNameSchema.safeParse(query.get('model'));
  const channel = channelNameSchema.safeParse(query.get('channel') ?? 'production');
  if (!project.success || !model.success || !channel.success) return null;
  const keys = await trustedKeySet(deps);
  const objects: Record<string, string> = {};
  const read = async (key: string) => {
    const bytes = await deps.store.get(key);
    if (bytes) objects[key] = new TextDecoder().decode(bytes);
    return bytes ? objects[key]! : null;
  };
  const pointerKey = channelPointerKey(project.data, model.data, channel.data);
  const pointerText = await read(pointerKey);
  if (!pointerText) return { start: { keys, objects }, preload: [] };
  const pointer = channelPointerSchema.parse(signedPayload(pointerText));
  const manifestKeys = [pointer.manifestPath, ...(pointer.candidate ? [pointer.candidate.manifestPath] : [])].map((p) => keyRelativeTo(p, pointerKey));
  const [manifestText] = await Promise.all(manifestKeys.slice(0, MAX_DEVICE_START_OBJECTS - 1).map(read));
  if (!manifestText || pointer.candidate) return { start: { keys, objects }, preload: [] };
  const variant = deviceVariant(modelManifestSchema.parse(signedPayload(manifestText)));
  const preload = [variant.modelJson, ...variant.shards].map((file) => cdnUrl(keys.cdnBaseUrl, keyRelativeTo(file.path, manifestKeys[0]!)));
  return { start: { keys, objects }, preload };
}

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The page with the start data and preload links at the end of its head. */
export function withDeviceStart(html: string, { start, preload }: { start: DeviceStart; preload: string[] }): string {
  // In a script element only "</script" (or "<!--") could end it early: no "<" is left in the JSON.
  const data = JSON.stringify(start).replace(/</g, '\\u003c');
  const links = preload.map((href) => `<link rel="preload" as="fetch" crossorigin href="${escapeAttribute(href)}">`).join('');
  return html.replace('</head>', `<script type="application/json" id="${DEVICE_START_ELEMENT_ID}">${data}</script>${links}</head>`);
}

/**
 * The page a device gets: with its start data when the query names a channel and the data is at hand within
 * START_DATA_WAIT_MS; otherwise (or when reading it failed) the page as built.
 */
export async function devicePage(deps: HubDeps, html: string, query: URLSearchParams): Promise<string> {
  const timeout = new Promise<null>((resolve) => setTimeout(resolve, START_DATA_WAIT_MS, null).unref());
  const found = await Promise.race([deviceStartFor(deps, query), timeout]).catch((error: Error) => {
    deps.log.warn(`device start data: ${error.message}`); // not the query: it may hold a token
    return null;
  });
  return found ? withDeviceStart(html, found) : html;
}
