/** Every training module says what it holds in a module doc comment (`/** ... *\/`) before anything else. */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = import.meta.dirname;

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return modules(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('training modules', () => {
  it('open with a module doc comment', () => {
    const without = modules(SRC).filter((path) => !readFileSync(path, 'utf8').startsWith('/**'));
    expect(without.map((path) => relative(SRC, path))).toEqual([]);
  });
});
