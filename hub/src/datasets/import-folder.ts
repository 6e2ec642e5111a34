import fs from 'node:fs/promises';
import path from 'node:path';
import { SPLITS, type Split } from '@edgeloop/shared';
import { mapConcurrent } from '../concurrency';
import type { HubDeps } from '../deps';
import { badRequest } from '../errors';
import { decodeImage } from '../images/decode';
import { type IngestResult, type ProgressFn, inBatches, ingestCandidates } from './ingest.service';
import type { Project } from '../projects/project.repository';

interface FolderFile {
  file: string;
  label: string;
  split: Split;
}

const DECODE_CONCURRENCY = 8;

/**
 * Imports a folder with one sub-folder per class (`dir/<label>/*`), or per split and class
 * (`dir/<train|val|test>/<label>/*`). Every folder name must be a project label and every file a
 * decodable image; both are checked before anything is written.
 */
export async function importFolder(
  deps: HubDeps,
  project: Project,
  dir: string,
  options: { split?: Split; onProgress?: ProgressFn } = {},
): Promise<IngestResult> {
  const files = await listFolder(project, dir, options.split ?? 'train');
  if (files.length === 0) throw badRequest(`${dir} holds no images in class sub-folders`);
  // Decode everything first: a corrupt file fails the import before any object or row is written.
  const decoded = await mapConcurrent(files, DECODE_CONCURRENCY, async ({ file, label, split }) => {
    const bytes = await fs.readFile(file);
    const info = await decodeImage(bytes, file, project.maxImagePixels);
    return { bytes, ...info, label, split, source: 'folder' as const };
  });
  return ingestCandidates(deps, project, inBatches(decoded), { total: files.length, onProgress: options.onProgress });
}

async function listFolder(project: Project, dir: string, defaultSplit: Split): Promise<FolderFile[]> {
  const top = await subfolders(dir);
  const isSplitLayout = top.length > 0 && top.every((name) => (SPLITS as readonly string[]).includes(name));
  const classDirs = isSplitLayout
    ? (await Promise.all(top.map(async (split) => (await subfolders(path.join(dir, split))).map((label) => ({ split: split as Split, label, at: path.join(dir, split, label) }))))).flat()
    : top.map((label) => ({ split: defaultSplit, label, at: path.join(dir, label) }));

  const unknown = classDirs.filter(({ label }) => !project.labels.includes(label)).map(({ at }) => at);
  if (unknown.length) {
    throw badRequest(
      `folder${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ${unknown.length > 1 ? 'are not labels' : 'is not a label'} of project "${project.slug}"; valid labels: ${project.labels.join(', ')}`,
    );
  }
  const perClass = await Promise.all(
    classDirs.map(async ({ split, label, at }) => {
      const entries = await fs.readdir(at, { withFileTypes: true });
      return entries
        .filter((e) => e.isFile() && !e.name.startsWith('.'))
        .map((e) => ({ file: path.join(at, e.name), label, split }))
        .sort((a, b) => a.file.localeCompare(b.file));
    }),
  );
  return perClass.flat();
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw badRequest(`cannot read folder ${dir}: ${error.code ?? error.message}`);
  });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}
