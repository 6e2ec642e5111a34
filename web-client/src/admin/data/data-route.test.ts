import { describe, expect, it } from 'vitest';
import { parseRoute } from '../route';
import { diffHref, gridHref, itemHref, parseDataView } from './data-route';

const SHA = 'ab'.repeat(32);
const viewOf = (href: string) => {
  const route = parseRoute(href);
  return parseDataView(route.rest, route.query);
};

describe('the Data section addresses', () => {
  it('round-trips a filtered grid page, an item opened from it and a diff page', () => {
    const query = { in: 'deadbeef12', label: 'Ankle boot', split: 'val' as const, source: 'upload' as const, page: 7 };
    expect(viewOf(gridHref('shop', query))).toEqual({ kind: 'grid', query });
    expect(viewOf(itemHref('shop', SHA, query))).toEqual({ kind: 'item', sha256: SHA, query });
    expect(viewOf(diffHref('shop', 'aaaaaaaa', 'bbbbbbbb', 3))).toEqual({ kind: 'diff', from: 'aaaaaaaa', to: 'bbbbbbbb', page: 3 });
  });

  it('leaves page 1 and empty filters out of the address', () => {
    expect(gridHref('shop', { page: 1 })).toBe('#/shop/data');
    expect(gridHref('shop', { page: 2, split: 'test' })).toBe('#/shop/data?split=test&page=2');
  });

  it('falls back to the first grid page for malformed parts', () => {
    expect(viewOf('#/shop/data?page=0&split=nope&source=x&in=XYZ')).toEqual({ kind: 'grid', query: { in: undefined, label: undefined, split: undefined, source: undefined, page: 1 } });
    expect(viewOf('#/shop/data?page=abc').kind).toBe('grid');
    expect(viewOf('#/shop/data/item/not-a-hash')).toMatchObject({ kind: 'grid' });
  });
});
