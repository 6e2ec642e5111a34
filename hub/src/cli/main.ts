import os from 'node:os';
import { ROLES, type Role, SPLITS, type Split, roleSchema, splitSchema } from '@edgeloop/shared';
import { TRPCClientError } from '@trpc/client';
import { Command, Option } from 'commander';
import { ZodError } from 'zod';
import { createToken, isProjectScopedRole, listTokens, revokeToken } from '../auth/token.service';
import { importFolder } from '../datasets/import-folder';
import { importIdx, mnistStylePairs } from '../datasets/import-idx';
import type { IngestResult } from '../datasets/ingest.service';
import { createProject, getProject, listProjects } from '../projects/project.service';
import { commitVersion, diffVersions, listVersions } from '../datasets/version.service';
import { DataDirLockedError } from '../db/data-dir-lock';
import { loadEnv } from '../env';
import { HubError } from '../errors';
import { type Hub, openHub } from '../hub';
import { serve } from '../main';
import { progressBar } from '../progress';
import { addCanaryCommand } from './canary-command';
import { exportVersion } from './export-version';
import { addKeyCommands } from './key-commands';
import { addMigrateCommand } from './migrate-command';
import { addMonitorCommand } from './monitor-command';
import { addObjectsCommands } from './objects-command';
import { addPipelineCommands } from './pipeline-commands';
import { addReplayCommand } from './replay-command';
import { addTrainingCommands } from './training-commands';

const who = `cli:${os.userInfo().username}`;

/** Opens the hub's database and object store for one command (no HTTP server), then closes them. */
async function withHub<T>(fn: (hub: Hub) => Promise<T>): Promise<T> {
  const hub = await openHub({ ...loadEnv(), LOG_LEVEL: 'warn' });
  try {
    return await fn(hub);
  } finally {
    await hub.close();
  }
}

function printImport(result: IngestResult): void {
  console.log(`added ${result.added} items, skipped ${result.duplicates} duplicates, wrote ${result.objectsWritten} new objects`);
}

/** A token's scope as the CLI shows it. */
function scopeText(token: { role: Role; projects: string[] | null }): string {
  if (token.projects === null) return isProjectScopedRole(token.role) ? 'none: refused, made before scopes (replace it)' : 'all projects';
  return token.projects.length > 0 ? token.projects.join(', ') : 'none: its projects were deleted';
}

const program = new Command('edgeloop')
  .description('Edgeloop hub: serve, manage tokens, import and version datasets, train, publish and promote models.\nReads the same environment as the hub (HUB_DATA_DIR, DATABASE_URL, S3_*).')
  .showHelpAfterError();

program.command('serve').description('run the hub (same as npm start)').action(serve);

const token = program.command('token').description('API tokens');
token
  .command('create')
  .description('create a token; its secret is printed once')
  .addOption(new Option('--role <role>', 'role of the token').choices(ROLES).makeOptionMandatory())
  .requiredOption('--name <name>', 'who or what uses it, e.g. "github-ci"')
  .option('--project <slugs>', 'comma-separated project slugs the token may act on: required for device, labeler and ci tokens, optional for engineer ones (none = every project)')
  .action((opts: { role: string; name: string; project?: string }) =>
    withHub(async ({ deps }) => {
      const projects = opts.project?.split(',').map((slug) => slug.trim()).filter(Boolean);
      const { token: created, secret } = await createToken(deps, { name: opts.name, role: roleSchema.parse(opts.role), createdBy: who, projects });
      console.error(`created ${created.role} token "${created.name}" (${created.id}) for ${scopeText(created)}; the secret is shown only now:`);
      console.log(secret);
    }),
  );
token
  .command('list')
  .description('list tokens (never their secrets)')
  .action(() =>
    withHub(async ({ deps }) => {
      console.table((await listTokens(deps)).map((t) => ({ id: t.id, name: t.name, role: t.role, projects: scopeText(t), createdAt: t.createdAt, lastUsedAt: t.lastUsedAt, revokedAt: t.revokedAt })));
    }),
  );
token
  .command('revoke <id>')
  .description('revoke a token')
  .action((id: string) => withHub(async ({ deps }) => void console.log(`revoked "${(await revokeToken(deps, id)).name}"`)));

const project = program.command('project').description('projects and their label sets');
project
  .command('create <slug>')
  .description('create a project')
  .requiredOption('--labels <labels>', 'comma-separated class labels, e.g. "cat,dog"')
  .option('--name <name>', 'display name')
  .option('--max-image-pixels <pixels>', 'largest image (width x height) the project accepts; default 16777216 (4096 x 4096)', Number)
  .action((slug: string, opts: { labels: string; name?: string; maxImagePixels?: number }) =>
    withHub(async ({ deps }) => {
      const labels = opts.labels.split(',').map((l) => l.trim());
      const created = await createProject(deps, { slug, name: opts.name, labels, maxImagePixels: opts.maxImagePixels, createdBy: who });
      console.log(`created project ${created.slug} with labels: ${created.labels.join(', ')}`);
    }),
  );
project
  .command('list')
  .description('list projects')
  .action(() =>
    withHub(async ({ deps }) => {
      console.table((await listProjects(deps)).map(({ slug, name, itemCount, versionCount, labels }) => ({ slug, name, items: itemCount, versions: versionCount, labels: labels.join(', ') })));
    }),
  );

const splitOption = new Option('--split <split>', 'split for the images').choices(SPLITS).default('train');
const imports = program.command('import').description("add images to a project's working set");
imports
  .command('folder <project> <dir>')
  .description('a folder with one sub-folder per class (or per split, then class)')
  .addOption(splitOption)
  .action((slug: string, dir: string, opts: { split: Split }) =>
    withHub(async ({ deps }) => {
      const bar = progressBar(`import ${dir}`);
      try {
        printImport(await importFolder(deps, await getProject(deps, slug), dir, { split: splitSchema.parse(opts.split), onProgress: bar.update }));
      } finally {
        bar.stop();
      }
    }),
  );
imports
  .command('idx <project>')
  .description('IDX files (MNIST format); label n is the project\'s n-th label')
  .option('--dir <dir>', 'an MNIST-style folder with train-* and t10k-* files (t10k becomes the test split)')
  .option('--images <file>', 'one IDX image file (.gz or raw)')
  .option('--labels <file>', 'its IDX label file')
  .addOption(splitOption)
  .action((slug: string, opts: { dir?: string; images?: string; labels?: string; split: Split }) =>
    withHub(async ({ deps }) => {
      if (!opts.dir && !(opts.images && opts.labels)) throw new HubError('BAD_REQUEST', 'give --dir, or both --images and --labels');
      const pairs = opts.dir ? mnistStylePairs(opts.dir) : [{ images: opts.images!, labels: opts.labels!, split: splitSchema.parse(opts.split) }];
      const bar = progressBar(`import ${slug}`);
      try {
        printImport(await importIdx(deps, await getProject(deps, slug), pairs, bar.update));
      } finally {
        bar.stop();
      }
    }),
  );

program
  .command('commit <project>')
  .description("commit the project's working set as an immutable dataset version")
  .requiredOption('-m, --message <message>', 'what changed')
  .action((slug: string, opts: { message: string }) =>
    withHub(async ({ deps }) => {
      const { version, created } = await commitVersion(deps, { project: slug, message: opts.message, createdBy: who });
      console.log(created ? `committed ${version.id} (${version.itemCount} items)` : `nothing changed: the working set is version ${version.id}`);
    }),
  );
program
  .command('versions <project>')
  .description('list dataset versions, newest first')
  .action((slug: string) =>
    withHub(async ({ deps }) => {
      console.table((await listVersions(deps, slug)).map(({ id, itemCount, message, createdBy, createdAt }) => ({ id: id.slice(0, 12), items: itemCount, message, createdBy, createdAt })));
    }),
  );
program
  .command('diff <project> <from> <to>')
  .description('items added, removed and relabelled between two versions (ids or 8+ character prefixes)')
  .action((slug: string, from: string, to: string) =>
    withHub(async ({ deps }) => {
      const diff = await diffVersions(deps, { project: slug, from, to });
      console.log(`${diff.from.slice(0, 12)} -> ${diff.to.slice(0, 12)}: +${diff.added.length} -${diff.removed.length} ~${diff.relabelled.length} (=${diff.unchanged})`);
      for (const item of diff.added) console.log(`+ ${item.sha256} ${item.split}/${item.label}`);
      for (const item of diff.removed) console.log(`- ${item.sha256} ${item.split}/${item.label}`);
      for (const item of diff.relabelled) console.log(`~ ${item.sha256} ${item.from.split}/${item.from.label} -> ${item.to.split}/${item.to.label}`);
    }),
  );
program
  .command('export <project> <version> <dir>')
  .description('write a version as <dir>/<split>/<label>/<sha256>.<ext> plus manifest.json')
  .action((slug: string, version: string, dir: string) =>
    withHub(async ({ deps }) => {
      const bar = progressBar(`export ${version.slice(0, 12)}`);
      try {
        const written = await exportVersion(deps, { project: slug, version, dir, onProgress: bar.update });
        console.log(`wrote ${written} images and manifest.json to ${dir}`);
      } finally {
        bar.stop();
      }
    }),
  );

addTrainingCommands(program);
addKeyCommands(program, withHub);
addObjectsCommands(program, withHub);
addMonitorCommand(program);
addPipelineCommands(program);
addReplayCommand(program);
addCanaryCommand(program);
addMigrateCommand(program);

program.parseAsync().catch((error: Error) => {
  // Errors the user can fix print as one line; anything else keeps its stack for a bug report.
  const message =
    error instanceof ZodError
      ? error.issues.map((issue) => issue.message).join('; ')
      : error instanceof HubError || error instanceof DataDirLockedError || error instanceof TRPCClientError
        ? error.message
        : error.stack;
  process.stderr.write(`edgeloop: ${message}\n`);
  process.exit(1);
});
