import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { fromQuery, loadShareChoice, saveShareChoice } from './settings';

const stored = { project: 'old', model: 'old-model', channel: 'production', token: 'secret', backend: 'auto' as const };

describe('settings from a link', () => {
  it('takes project, model, channel, token and backend from the query string', () => {
    const { settings, problems } = fromQuery(stored, new URLSearchParams('project=fashion-mnist&model=fashion-cnn&channel=staging&token=%20abc%20&backend=webgpu'));
    expect(settings).toEqual({ project: 'fashion-mnist', model: 'fashion-cnn', channel: 'staging', token: 'abc', backend: 'webgpu' });
    expect(problems).toEqual([]);
  });

  it('keeps the stored value and names the field and the valid values when one is bad', () => {
    const { settings, problems } = fromQuery(stored, new URLSearchParams('project=Not%20A%20Slug&backend=gpu'));
    expect(settings).toEqual(stored);
    expect(problems).toEqual([
      'project: slug must be 2-63 characters of a-z, 0-9 and -, starting with a letter or digit',
      'backend must be one of: auto, webgpu, webgl, wasm, cpu',
    ]);
  });
});

describe('the share choice', () => {
  it('is off until chosen, then remembered in the device\'s database', async () => {
    expect(await loadShareChoice()).toBe(false);
    await saveShareChoice(true);
    expect(await loadShareChoice()).toBe(true);
    await saveShareChoice(false);
    expect(await loadShareChoice()).toBe(false);
  });
});
