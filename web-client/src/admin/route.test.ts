import { describe, expect, it } from 'vitest';
import { parseRoute, routeHref, sectionsFor } from './route';

describe('admin routes', () => {
  it('reads the projects page from an empty or bare hash', () => {
    expect(parseRoute('')).toMatchObject({ project: null, section: 'data', rest: [] });
    expect(parseRoute('#/')).toMatchObject({ project: null });
  });

  it('reads a project section with the rest of the path and the query', () => {
    const route = parseRoute('#/fashion-mnist/runs/3f2a/compare?with=9c1d&page=2');
    expect(route).toMatchObject({ project: 'fashion-mnist', section: 'runs', rest: ['3f2a', 'compare'] });
    expect(route.query.get('with')).toBe('9c1d');
    expect(route.query.get('page')).toBe('2');
  });

  it('falls back to the project data page for an unknown section, and survives bad escapes', () => {
    expect(parseRoute('#/fashion-mnist/nope/x')).toMatchObject({ project: 'fashion-mnist', section: 'data', rest: [] });
    expect(parseRoute('#/p%ZZ/runs')).toMatchObject({ project: 'p%ZZ', section: 'runs' });
  });

  it('writes hashes that read back as the same route', () => {
    const href = routeHref('my project', 'data', ['items', 'a/b'], { label: 'Ankle boot', page: 3, split: '', source: undefined });
    expect(href).toBe('#/my%20project/data/items/a%2Fb?label=Ankle+boot&page=3');
    const route = parseRoute(href);
    expect(route).toMatchObject({ project: 'my project', section: 'data', rest: ['items', 'a/b'] });
    expect(Object.fromEntries(route.query)).toEqual({ label: 'Ankle boot', page: '3' });
    expect(routeHref(null)).toBe('#/');
  });

  it('offers each role the sections it can use', () => {
    expect(sectionsFor('admin').map((s) => s.id)).toEqual(['data', 'runs', 'models', 'monitoring', 'labeling', 'pipelines', 'devices']);
    expect(sectionsFor('labeler').map((s) => s.id)).toEqual(['labeling']);
    expect(sectionsFor('device')).toEqual([]);
  });
});
