import { describe, expect, it } from 'vitest';
import { UndoWindow } from './undo-window';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function windowOf(ms: number) {
  const done: [string, string][] = [];
  let changes = 0;
  const undo = new UndoWindow<string>(ms, async (key, item) => void done.push([key, item]), () => changes++);
  return { undo, done, changes: () => changes };
}

describe('UndoWindow', () => {
  it('does a held action once its window has passed, not before', async () => {
    const { undo, done } = windowOf(60);
    undo.hold('p1', 'Trouser', 1_000);
    expect(undo.pending).toEqual([{ key: 'p1', item: 'Trouser', until: 1_060 }]);
    await sleep(20);
    expect(done).toEqual([]);
    await sleep(80);
    expect(done).toEqual([['p1', 'Trouser']]);
    expect(undo.has('p1')).toBe(false);
  });

  it('never does an action taken back within the window', async () => {
    const { undo, done, changes } = windowOf(40);
    undo.hold('p1', 'Bag');
    expect(undo.undo('p1')).toBe('Bag');
    await sleep(80);
    expect(done).toEqual([]);
    expect(undo.undo('p1')).toBeUndefined(); // nothing left to take back
    expect(changes()).toBe(2);
  });

  it('is too late to take back once done', async () => {
    const { undo, done } = windowOf(10);
    undo.hold('p1', 'Bag');
    await sleep(50);
    expect(undo.undo('p1')).toBeUndefined();
    expect(done).toEqual([['p1', 'Bag']]);
  });

  it('does everything held at once when the page goes away, each once', async () => {
    const { undo, done } = windowOf(10_000);
    undo.hold('p1', 'Bag');
    undo.hold('p2', 'Coat');
    await undo.commitAll();
    expect(done).toEqual([['p1', 'Bag'], ['p2', 'Coat']]);
    expect(undo.pending).toEqual([]);
    await undo.commitAll();
    expect(done).toHaveLength(2);
  });

  it('keeps only the latest action per key', async () => {
    const { undo, done } = windowOf(30);
    undo.hold('p1', 'Bag');
    undo.hold('p1', 'Coat');
    await sleep(70);
    expect(done).toEqual([['p1', 'Coat']]);
  });
});
