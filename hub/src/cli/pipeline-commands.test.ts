/**
 * `edgeloop pipeline run --wait` as CI runs it: a ci token over real HTTP against a hub whose pipeline worker runs
 * small test steps. It prints each step's state as it changes and exits 0 only when the challenger was promoted;
 * a gate that refuses, or a failed run, exits 1 with the reason.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Behaviour, championOnChannel, testRegistry, zeroCounts } from '../../test/pipeline-test-steps';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { type PipelineWorker, startPipelineWorker } from '../pipelines/pipeline-worker';
import { createHubServer, listen } from '../server';
import { runPipelineAndWait, stepLine } from './pipeline-commands';
import { remoteHub } from './remote-hub';

describe('edgeloop pipeline run --wait', () => {
  let hub: TestHub;
  let server: http.Server;
  let url: string;
  let worker: PipelineWorker;
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-cli-web-'));
  const behaviour: Behaviour = { marker: 'x', evaluateFailures: 0, promote: true, buildMs: 0, executed: zeroCounts() };
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'ci-loop', labels: ['cat', 'dog'] });
    await championOnChannel(hub.deps, 'ci-loop', 'mdl');
    server = createHubServer(hub.deps, { webRoot });
    const address = await listen(server, 0, '127.0.0.1');
    url = `http://127.0.0.1:${address.port}`;
    worker = await startPipelineWorker(hub.deps, { name: 'cli-test', registry: testRegistry(behaviour), triggers: false });
  });
  afterAll(async () => {
    await worker?.stop();
    await new Promise((resolve) => server?.close(resolve));
    await hub?.close();
    fs.rmSync(webRoot, { recursive: true, force: true });
  });

  const ci = async () => remoteHub({ hub: url, token: await hub.secretFor('ci', { projects: ['ci-loop'] }) });

  it('follows a promoted run step by step and exits 0', { timeout: 60_000 }, async () => {
    behaviour.marker = crypto.randomUUID();
    const lines: string[] = [];
    const { run, exitCode } = await runPipelineAndWait(await ci(), { project: 'ci-loop', note: 'commit abc123' }, (line) => lines.push(line), 200);
    expect(exitCode).toBe(0);
    expect(run).toMatchObject({ trigger: 'ci', triggerDetail: 'CI: test-ci (commit abc123)', outcome: 'promoted' });
    expect(lines[0]).toBe(`pipeline run ${run.id} started for mdl/production (champion v1)`);
    // Every step's end is printed once, in order.
    const ends = lines.filter((l) => / succeeded/.test(l)).map((l) => l.split(':')[0]);
    expect(ends).toEqual(['build-dataset', 'train', 'evaluate', 'gate', 'publish', 'rollout']);
    expect(lines.at(-1)).toBe('promoted: v2 reached every device of production');
  });

  it('exits 1 with the reason when the gate keeps the challenger a candidate', { timeout: 60_000 }, async () => {
    behaviour.marker = crypto.randomUUID();
    behaviour.promote = false;
    const lines: string[] = [];
    const { run, exitCode } = await runPipelineAndWait(await ci(), { project: 'ci-loop' }, (line) => lines.push(line), 200);
    expect(exitCode).toBe(1);
    expect(lines).toContain('gate: keep as a candidate');
    expect(lines.at(-1)).toBe(`pipeline run ${run.id} succeeded (candidate): holdout gain 0.2 points (bound 1)`);
  });

  it('says what each step state means in words', () => {
    const base = { attempts: 2, seconds: 12.34, reusedFromRunId: null, error: null };
    expect(stepLine({ ...base, step: 'train', status: 'running' })).toBe('train: running (attempt 2)');
    expect(stepLine({ ...base, step: 'train', status: 'succeeded' })).toBe('train: succeeded in 12.3 s');
    expect(stepLine({ ...base, step: 'gate', status: 'skipped', reusedFromRunId: 'r1' })).toBe('gate: skipped, inputs unchanged: reused the outputs of run r1');
    expect(stepLine({ ...base, step: 'evaluate', status: 'failed', error: 'failed after 3 attempts: x' })).toBe('evaluate: failed in 12.3 s: failed after 3 attempts: x');
    expect(stepLine({ ...base, step: 'evaluate', status: 'pending', error: 'attempt 1 of 3: x; retrying in 5 s' })).toBe('evaluate: waiting to retry: attempt 1 of 3: x; retrying in 5 s');
  });
});
