import { describe, expect, it } from 'vitest';
import { backendOrder, fastest } from './classifier';

describe('backend choice', () => {
  it('keeps the working backend with the lowest median, whatever failed', () => {
    expect(
      fastest([
        { backend: 'webgpu', works: true, firstMs: 1200, medianMs: 80 },
        { backend: 'webgl', works: false, error: 'no WebGL context' },
        { backend: 'wasm', works: true, firstMs: 20, medianMs: 0.6 },
        { backend: 'cpu', works: true, firstMs: 25, medianMs: 5.5 },
      ]),
    ).toBe('wasm');
    expect(fastest([{ backend: 'webgpu', works: true, medianMs: 2 }, { backend: 'wasm', works: true, medianMs: 2 }])).toBe('webgpu');
    expect(fastest([{ backend: 'webgpu', works: false, error: 'no adapter' }])).toBeNull();
  });

  it('tries the preferred backend first, then webgpu, webgl, wasm, cpu', () => {
    expect(backendOrder('auto', undefined)).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
    expect(backendOrder('auto', { backend: 'webgl', measurements: [], measuredAt: '' })).toEqual(['webgl', 'webgpu', 'wasm', 'cpu']);
    expect(backendOrder('webgpu', { backend: 'wasm', measurements: [], measuredAt: '' })).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });
});
