/**
 * The hub's layout, checked on its source: each table has one owner module (`*.repository.ts`) that holds its writes,
 * and nothing but owners (and src/db itself) imports the drizzle schema. Services hold rules and call owners.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const HUB = join(import.meta.dirname, '..');
/** The plain-INSERT baseline the sync benchmark compares the product's ingestion with. */
const RAW_SQL_BASELINES = ['bench/sync.bench.ts'];

function productFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return productFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = ['src', 'bench'].flatMap((dir) => productFiles(join(HUB, dir))).map((path) => ({ path: relative(HUB, path), source: readFileSync(path, 'utf8') }));
const isOwner = (path: string) => path.endsWith('.repository.ts');
/**
 * Any import of the schema module: named, `import type`, `import * as`, default, side effect, dynamic `import()`, or
 * a re-export (`export ... from`), over any number of lines.
 */
const SCHEMA_IMPORT = /(?:\b(?:import|export)\b[^;'"]*?\bfrom\s*|\bimport\s*(?:\(\s*)?)['"](?:\.{1,2}\/)+(?:src\/)?db\/schema(?:\.[jt]s)?['"]/;

describe('hub layout', () => {
  it('recognises every form of importing the schema', () => {
    const imports = [
      "import { runs } from '../db/schema';",
      "import type { runs } from '../db/schema';",
      "import * as schema from '../../src/db/schema';",
      "import {\n  runs,\n  sweeps,\n} from '../db/schema.ts';",
      "import schema from \"../db/schema.js\";",
      "import '../db/schema';",
      "const schema = await import('../db/schema');",
      "export { runs } from '../db/schema';",
      "export * from '../db/schema';",
    ];
    expect(imports.filter((source) => !SCHEMA_IMPORT.test(source))).toEqual([]);
    const others = ["import { runs } from '../db/schema-notes';", "import { openPglite } from '../db/database';", "import * as runs from './run.repository';"];
    expect(others.filter((source) => SCHEMA_IMPORT.test(source))).toEqual([]);
  });

  it('only table owners (and src/db) import the schema', () => {
    const others = files.filter((f) => SCHEMA_IMPORT.test(f.source) && !isOwner(f.path) && !f.path.startsWith('src/db/') && !RAW_SQL_BASELINES.includes(f.path));
    expect(others.map((f) => f.path)).toEqual([]);
  });

  it('each table is written (insert, update, delete) by exactly one owner', () => {
    const writers = new Map<string, Set<string>>();
    for (const file of files.filter((f) => isOwner(f.path))) {
      for (const [, table] of file.source.matchAll(/\.(?:insert|update|delete)\((\w+)\)/g)) {
        writers.set(table!, (writers.get(table!) ?? new Set()).add(file.path));
      }
    }
    const shared = [...writers].filter(([, owners]) => owners.size > 1).map(([table, owners]) => `${table}: ${[...owners].join(', ')}`);
    expect(shared).toEqual([]);
    // And every table has its owner: a new table's writes land in a repository too.
    const tables = [...readFileSync(join(HUB, 'src/db/schema.ts'), 'utf8').matchAll(/export const (\w+) = pgTable\(/g)].map((m) => m[1]);
    expect([...writers.keys()].sort()).toEqual(tables.sort());
  });
});
