/**
 * The admin's addresses: everything a person would link to or go back to lives in the URL's hash, so deep links,
 * reloads and the back button work without a server-side router (the hub serves one index.html).
 *   #/                                  the projects
 *   #/<project>/<section>[/<rest>...][?<query>]   a section of one project, e.g. #/fashion-mnist/runs/3f2a?compare=9c1d
 */

import type { Role } from '@edgeloop/shared';

const WORKS_ON_MODELS: readonly Role[] = ['admin', 'engineer', 'ci'];

/** The sections of a project, in the order the navigation shows them, with the roles whose calls they are made of. */
export const SECTIONS = [
  { id: 'data', title: 'Data', roles: WORKS_ON_MODELS },
  { id: 'runs', title: 'Runs', roles: WORKS_ON_MODELS },
  { id: 'models', title: 'Models', roles: WORKS_ON_MODELS },
  { id: 'monitoring', title: 'Monitoring', roles: WORKS_ON_MODELS },
  { id: 'labeling', title: 'Labeling', roles: ['admin', 'engineer', 'labeler'] },
  { id: 'pipelines', title: 'Pipelines', roles: WORKS_ON_MODELS },
  { id: 'devices', title: 'Devices & tokens', roles: ['admin', 'engineer'] },
] as const satisfies readonly { id: string; title: string; roles: readonly Role[] }[];
export type Section = (typeof SECTIONS)[number]['id'];

/** The sections a role can use; the hub refuses the rest anyway, so the navigation does not offer them. */
export const sectionsFor = (role: Role) => SECTIONS.filter((s) => (s.roles as readonly Role[]).includes(role));

export interface AdminRoute {
  /** The project's slug; null on the projects page. */
  project: string | null;
  section: Section;
  /** Path segments after the section (an open run's id, an item's sha256...), decoded. */
  rest: string[];
  query: URLSearchParams;
}

const isSection = (value: string | undefined): value is Section => SECTIONS.some((s) => s.id === value);

/** The route a hash names; anything unknown falls back to the nearest page that exists (a project's data, or the projects). */
export function parseRoute(hash: string): AdminRoute {
  const raw = hash.replace(/^#/, '');
  const queryAt = raw.indexOf('?');
  const path = queryAt < 0 ? raw : raw.slice(0, queryAt);
  const query = new URLSearchParams(queryAt < 0 ? '' : raw.slice(queryAt + 1));
  const segments = path.split('/').filter(Boolean).map(safeDecode);
  const [project, section, ...rest] = segments;
  if (!project) return { project: null, section: 'data', rest: [], query };
  return isSection(section) ? { project, section, rest, query } : { project, section: 'data', rest: [], query };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The hash of a page: `routeHref(null)` is the projects; query entries that are undefined or '' are left out. */
export function routeHref(project: string | null, section: Section = 'data', rest: readonly string[] = [], query: Record<string, string | number | undefined | null> = {}): string {
  if (project === null) return '#/';
  const path = [project, section, ...rest].map(encodeURIComponent).join('/');
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return `#/${path}${text ? `?${text}` : ''}`;
}
