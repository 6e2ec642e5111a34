/**
 * What this device is set up for: which project's model and channel to run, the API token it sends feedback with,
 * and the backend preference. Kept in IndexedDB (the service worker reads the token too); a link such as
 * `/?project=fashion-mnist&model=fashion-cnn&token=...` sets them on first open.
 */
import { channelNameSchema, modelNameSchema, projectSlugSchema } from '@edgeloop/shared';
import { BROWSER_BACKENDS } from './inference-protocol';
import { readValue, writeValue } from './local-db';

export const BACKEND_PREFERENCES = ['auto', ...BROWSER_BACKENDS] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

export interface Settings {
  project: string;
  model: string;
  channel: string;
  /** Bearer token (device or labeler role); empty: predictions stay on the device until one is set. */
  token: string;
  backend: BackendPreference;
}

export const DEFAULT_SETTINGS: Settings = { project: '', model: '', channel: 'production', token: '', backend: 'auto' };
const KEY = 'settings';

export async function loadSettings(): Promise<Settings> {
  return { ...DEFAULT_SETTINGS, ...((await readValue<Partial<Settings>>(KEY)) ?? {}) };
}

export async function saveSettings(settings: Settings): Promise<void> {
  await writeValue(KEY, { ...settings });
}

const FIELDS = { project: projectSlugSchema, model: modelNameSchema, channel: channelNameSchema } as const;

/** What is wrong with each field, in words that name it and what it may be. */
export function settingsProblems(settings: Partial<Settings>): string[] {
  const problems: string[] = [];
  for (const [name, schema] of Object.entries(FIELDS)) {
    const value = settings[name as keyof typeof FIELDS];
    if (value === undefined || value === '') continue;
    const parsed = schema.safeParse(value);
    if (!parsed.success) problems.push(`${name}: ${parsed.error.issues[0]!.message}`);
  }
  if (settings.backend !== undefined && !(BACKEND_PREFERENCES as readonly string[]).includes(settings.backend)) {
    problems.push(`backend must be one of: ${BACKEND_PREFERENCES.join(', ')}`);
  }
  return problems;
}

/** Settings from the page's query string over the stored ones; invalid values are reported, not taken. */
export function fromQuery(stored: Settings, query: URLSearchParams): { settings: Settings; problems: string[] } {
  const settings = { ...stored };
  const problems: string[] = [];
  for (const name of ['project', 'model', 'channel', 'backend'] as const) {
    const value = query.get(name);
    if (value === null) continue;
    const problem = settingsProblems({ [name]: value });
    if (problem.length) problems.push(...problem);
    else Object.assign(settings, { [name]: value });
  }
  const token = query.get('token');
  if (token !== null) settings.token = token.trim();
  return { settings, problems };
}

const SHARE_KEY = 'share-labelled-images';

/** A labeler's choice to add the images they label to the training data: remembered on this device (off until chosen). */
export async function loadShareChoice(): Promise<boolean> {
  return (await readValue<boolean>(SHARE_KEY)) ?? false;
}

export async function saveShareChoice(share: boolean): Promise<void> {
  await writeValue(SHARE_KEY, share);
}
