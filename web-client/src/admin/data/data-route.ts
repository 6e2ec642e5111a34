/**
 * The Data section's addresses (pure, tested):
 *   #/<project>/data?in=<version>&label=&split=&source=&page=    the grid of a version (or the working set without `in`)
 *   #/<project>/data/item/<sha256>?<the grid's query>             one item (back goes to the same grid page)
 *   #/<project>/data/diff/<from>/<to>?page=                       what changed between two versions
 */
import { ITEM_SOURCES, type ItemSource, SPLITS, type Split } from '@edgeloop/shared';
import { routeHref } from '../route';

export interface GridQuery {
  /** A version id; absent: the working set. */
  in?: string;
  label?: string;
  split?: Split;
  source?: ItemSource;
  page: number;
}

export type DataView = { kind: 'grid'; query: GridQuery } | { kind: 'item'; sha256: string; query: GridQuery } | { kind: 'diff'; from: string; to: string; page: number };

const pageOf = (text: string | null): number => {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 10_000 ? n : 1;
};

/** What the Data section shows for a route's rest and query; anything malformed falls back to the first page of the grid. */
export function parseDataView(rest: readonly string[], query: URLSearchParams): DataView {
  const grid: GridQuery = {
    in: /^[0-9a-f]{8,64}$/.test(query.get('in') ?? '') ? query.get('in')! : undefined,
    label: query.get('label') || undefined,
    split: (SPLITS as readonly string[]).includes(query.get('split') ?? '') ? (query.get('split') as Split) : undefined,
    source: (ITEM_SOURCES as readonly string[]).includes(query.get('source') ?? '') ? (query.get('source') as ItemSource) : undefined,
    page: pageOf(query.get('page')),
  };
  if (rest[0] === 'item' && /^[0-9a-f]{64}$/.test(rest[1] ?? '')) return { kind: 'item', sha256: rest[1]!, query: grid };
  if (rest[0] === 'diff' && rest[1] && rest[2]) return { kind: 'diff', from: rest[1], to: rest[2], page: pageOf(query.get('page')) };
  return { kind: 'grid', query: grid };
}

/** The grid's query in an address; page 1 is left out so the plain address is the first page. */
const gridParams = (query: GridQuery) => ({ in: query.in, label: query.label, split: query.split, source: query.source, page: query.page > 1 ? query.page : undefined });

export const gridHref = (project: string, query: GridQuery): string => routeHref(project, 'data', [], gridParams(query));

/** One item's address, carrying the grid's query so going back lands on the same page. */
export const itemHref = (project: string, sha256: string, query: GridQuery): string => routeHref(project, 'data', ['item', sha256], gridParams(query));

export const diffHref = (project: string, from: string, to: string, page = 1): string => routeHref(project, 'data', ['diff', from, to], { page: page > 1 ? page : undefined });

/** How each source reads in the admin. */
export const SOURCE_WORDS: Record<ItemSource, string> = {
  folder: 'folder import',
  idx: 'IDX import (the demo data)',
  upload: 'upload',
  correction: 'correction',
  review: 'device review',
};
