import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './select-backend';

describe('backend selection', () => {
  it('takes the best backend this machine runs and says why it skipped the better ones', async () => {
    const selected = await selectBackend('auto');
    expect(['tensorflow', 'webgpu', 'wasm']).toContain(selected.name);
    expect(tf.getBackend()).toBe(selected.name);
    if (selected.name === 'wasm') {
      expect(selected.singleThreaded).toBe(true);
      expect(selected.skipped.map((s) => s.split(':')[0])).toEqual(['tensorflow', 'webgpu']);
    }
  });

  it('names the valid values when a named backend is not available', async () => {
    const nativePackage: string = '@tensorflow/tfjs-node';
    const hasNative = await import(/* @vite-ignore */ nativePackage).then(() => true, () => false);
    if (hasNative) return; // a machine with tfjs-node installed has the backend
    await expect(selectBackend('tensorflow')).rejects.toThrow(/backend tensorflow is not available here .*valid values: auto, tensorflow, webgpu, wasm, cpu/);
  });
});
