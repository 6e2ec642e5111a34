/**
 * `edgeloop objects export|import <dir>`: the object store (S3_* or the embedded store) copied to a directory and back,
 * with the headers each object was stored with (storage/object-archive.ts): half of a backup, the database dump the
 * other (README, "Backup and restore"). With the embedded database, stop the hub first.
 */
import type { Command } from 'commander';
import type { Hub } from '../hub';
import { progressBar } from '../progress';
import { exportObjects, importObjects, TRANSIENT_PREFIXES } from '../storage/object-archive';

type WithHub = <T>(fn: (hub: Hub) => Promise<T>) => Promise<T>;

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const collect = (value: string, previous: string[]) => [...previous, value];

export function addObjectsCommands(program: Command, withHub: WithHub): void {
  const objects = program.command('objects').description('copy the object store (datasets, runs, published models) to a directory and back, for backups');
  objects
    .command('export <dir>')
    .description(`write every object (all but ${TRANSIENT_PREFIXES.join(', ')}) and its headers into a new directory`)
    .option('--prefix <prefix>', 'only keys under this prefix (repeatable), e.g. cdn/', collect, [])
    .action((dir: string, opts: { prefix: string[] }) =>
      withHub(async ({ deps }) => {
        const bar = progressBar('export');
        let done: { objects: number; bytes: number };
        try {
          done = await exportObjects(deps.store, dir, { ...(opts.prefix.length ? { prefixes: opts.prefix } : {}), onProgress: bar.update });
        } finally {
          bar.stop();
        }
        console.log(`exported ${done.objects} objects (${megabytes(done.bytes)}) to ${dir}`);
      }),
    );
  objects
    .command('import <dir>')
    .description('write the objects of an export into the store (restore the database first)')
    .action((dir: string) =>
      withHub(async ({ deps }) => {
        const bar = progressBar('import');
        let done: { objects: number; bytes: number };
        try {
          done = await importObjects(deps.store, dir, { onProgress: bar.update });
        } finally {
          bar.stop();
        }
        console.log(`imported ${done.objects} objects (${megabytes(done.bytes)}) from ${dir}`);
      }),
    );
}
