/**
 * What this device is set up for: which project's model and channel to run, the API token it sends feedback with,
 * and the backend preference. Kept in IndexedDB (the service worker reads the token too); a link such as
 * `/?project=fashion-mnist&model=fashion-cnn&token=...` sets them on first open.
 */
import { channelNameSchema, modelNameSchema, projectSlugSchema } from '@edgeloop/shared';
import { readValue, writeValue } from './local-db';

export const BACKEND_PREFERENCES = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

export interface Settings {
  project: string;
  model: string;
  channel: string;
  /** Bearer token (device or labeler role); empty: predictions stay on the device until one is set. */
  token: string;
  backend: BackendPreference;
}

const DEFAULTS: Settings = { project: '', model: '', channel: 'production', token: '', backend: 'auto' };
const KEY = 'settings';

export async function loadSettings(): Promise<Settings> {
  return { ...DEFAULTS, ...((await readValue<Partial<Settings>>(KEY)) ?? {}) };
}

export async function saveSettings(settings: Settings): Promise<void> {
  await writeValue(KEY, { ...settings });
}

/** Settings from the page's query string over the stored ones; invalid values are reported, not stored. */
export function fromQuery(stored: Settings, query: URLSearchParams): { settings: Settings; problems: string[] } {
  const settings = { ...stored };
  const problems: string[] = [];
  const take = (name: 'project' | 'model' | 'channel', check: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } }) => {
    const value = query.get(name);
    if (value === null) return;
    const parsed = check.safeParse(value);
    if (parsed.success) settings[name] = value;
    else problems.push(`${name}: ${parsed.error!.issues[0]!.message}`);
  };
  take('project', projectSlugSchema);
  take('model', modelNameSchema);
  take('channel', channelNameSchema);
  const token = query.get('token');
  if (token !== null) settings.token = token.trim();
  const backend = query.get('backend');
  if (backend !== null) {
    if ((BACKEND_PREFERENCES as readonly string[]).includes(backend)) settings.backend = backend as BackendPreference;
    else problems.push(`backend must be one of: ${BACKEND_PREFERENCES.join(', ')}`);
  }
  return { settings, problems };
}
