import * as shared from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import * as training from './index';

describe("training's public exports", () => {
  it('give no second path to what @edgeloop/shared exports (contracts are imported from shared alone)', () => {
    const sharedValues = new Set<unknown>(Object.values(shared));
    const reExported = Object.entries(training)
      .filter(([, value]) => sharedValues.has(value))
      .map(([name]) => name);
    expect(reExported).toEqual([]);
  });
});
