/** Where and how a run ran (the Lineage contract in @edgeloop/shared), recorded with it so a model can be traced back and reproduced. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MachineLineage } from '@edgeloop/shared';
import * as tf from '@tensorflow/tfjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function gitCommit(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return null; // Not a git checkout (e.g. an installed package).
  }
}

function codeVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'training/package.json'), 'utf8')) as { version: string };
  return `@edgeloop/training@${pkg.version}`;
}

export function machineLineage(worker: string): MachineLineage {
  const cpus = os.cpus();
  return {
    gitCommit: gitCommit(),
    codeVersion: codeVersion(),
    tfjsVersion: tf.version.tfjs,
    node: process.version,
    worker,
    host: os.hostname(),
    platform: `${os.platform()} ${os.arch()}`,
    cpu: `${cpus.length} x ${cpus[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}
