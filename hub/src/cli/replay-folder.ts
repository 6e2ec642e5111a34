/**
 * The images `edgeloop replay` classifies: a folder with one sub-folder per label (`<label>/*`, labels known), or a
 * flat folder of images (labels unknown). Listed in a fixed order (label, then name), so device assignment and
 * event ids are the same on every run over the same folder.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { HubError } from '../errors';

/** Most entries read from one folder: a listing is held in memory and sorted. */
export const MAX_FOLDER_ENTRIES = 1_000_000;

export interface ReplayFile {
  /** Path relative to the replayed folder, with "/" separators: part of the event id. */
  relative: string;
  file: string;
  /** The sub-folder's name; null in a flat folder. */
  label: string | null;
}

export interface ReplayFolder {
  labelled: boolean;
  files: ReplayFile[];
}

async function entries(dir: string): Promise<{ name: string; isDirectory: boolean; isFile: boolean }[]> {
  const handle = await fs.opendir(dir).catch((error: NodeJS.ErrnoException) => {
    throw new HubError('BAD_REQUEST', `cannot read folder ${dir}: ${error.code ?? error.message}`);
  });
  const found: { name: string; isDirectory: boolean; isFile: boolean }[] = [];
  for await (const entry of handle) {
    if (entry.name.startsWith('.')) continue;
    if (found.length >= MAX_FOLDER_ENTRIES) {
      await handle.close().catch(() => {});
      throw new HubError('BAD_REQUEST', `${dir} holds more than ${MAX_FOLDER_ENTRIES} entries; replay a smaller folder`);
    }
    found.push({ name: entry.name, isDirectory: entry.isDirectory(), isFile: entry.isFile() });
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Lists the folder. With sub-folders, each must be one of `labels` (the model's) and files beside them are refused,
 * so a half-labelled folder is not taken for a flat one; without, every file is an unlabelled image.
 */
export async function listReplayFolder(dir: string, labels: readonly string[]): Promise<ReplayFolder> {
  const top = await entries(dir);
  const folders = top.filter((e) => e.isDirectory).map((e) => e.name);
  if (folders.length === 0) {
    return { labelled: false, files: top.filter((e) => e.isFile).map((e) => ({ relative: e.name, file: path.join(dir, e.name), label: null })) };
  }
  const unknown = folders.filter((name) => !labels.includes(name));
  if (unknown.length) {
    throw new HubError('BAD_REQUEST', `${unknown.map((name) => path.join(dir, name)).join(', ')}: not a label of the model; sub-folders must be named after its labels: ${labels.join(', ')}`);
  }
  const loose = top.filter((e) => e.isFile).map((e) => e.name);
  if (loose.length) {
    throw new HubError('BAD_REQUEST', `${dir} holds label sub-folders and also files beside them (${loose.slice(0, 3).join(', ')}${loose.length > 3 ? ', ...' : ''}): put every image in a label's sub-folder, or replay a flat folder`);
  }
  const files: ReplayFile[] = [];
  for (const label of folders) {
    for (const entry of await entries(path.join(dir, label))) {
      if (!entry.isFile) continue;
      if (files.length >= MAX_FOLDER_ENTRIES) throw new HubError('BAD_REQUEST', `${dir} holds more than ${MAX_FOLDER_ENTRIES} images; replay a smaller folder`);
      files.push({ relative: `${label}/${entry.name}`, file: path.join(dir, label, entry.name), label });
    }
  }
  return { labelled: true, files };
}
