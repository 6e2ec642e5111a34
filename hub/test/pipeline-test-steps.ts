/**
 * Small pipeline steps for tests of the engine, the CLI and the admin: each makes outputs that match its step's
 * contract, counts its executions, and does what the Behaviour says (wait once, throw, refuse at the gate). And a
 * champion for a project: a published version row with the production channel pointing to it.
 */
import crypto from 'node:crypto';
import type { PipelineStep } from '@edgeloop/shared';
import { channels, modelVersions, registeredModels } from '../src/db/schema';
import type { HubDeps } from '../src/deps';
import { gateStep } from '../src/pipelines/gate.step';
import type { StepRegistry } from '../src/pipelines/pipeline-step.job';
import { rolloutStep } from '../src/pipelines/rollout.step';
import { getProject } from '../src/projects/project.service';
import { publishedVersion } from './published-version';

/** What the test steps do and how often they ran. */
export interface Behaviour {
  /** Part of build-dataset's inputs: change it and the reruns' inputs change. */
  marker: string;
  /** evaluate throws this many more times. */
  evaluateFailures: number;
  promote: boolean;
  /** build-dataset takes this long (for the race). */
  buildMs: number;
  executed: Record<PipelineStep, number>;
}

export function testRegistry(b: Behaviour): StepRegistry {
  const count = (step: PipelineStep) => void b.executed[step]++;
  return {
    'build-dataset': {
      step: 'build-dataset',
      inputs: async () => ({ marker: b.marker }),
      async execute({ log }) {
        count('build-dataset');
        log(`building ${b.marker}`);
        await new Promise((r) => setTimeout(r, b.buildMs));
        const outputs = { baseVersionId: 'base', datasetVersionId: `data-${b.marker}`, added: 1, addedByRule: { person: 1 }, holdout: { key: 'k', items: 0, sha256: 's' } };
        return { status: 'done', outputs };
      },
    },
    train: {
      step: 'train',
      inputs: async ({ outputsOf }) => ({ dataset: outputsOf('build-dataset').datasetVersionId }),
      // Waits once (as on a training run), then is done with what it recorded before the wait.
      async execute(_ctx, previous) {
        count('train');
        if (!previous?.runId) return { status: 'wait', afterSeconds: 1, outputs: { runId: crypto.randomUUID(), warmStart: true } };
        return { status: 'done', outputs: { runId: previous.runId, warmStart: true } };
      },
    },
    evaluate: {
      step: 'evaluate',
      inputs: async ({ outputsOf }) => ({ challenger: outputsOf('train').runId }),
      async execute() {
        count('evaluate');
        if (b.evaluateFailures > 0) {
          b.evaluateFailures--;
          throw new Error('disk on fire at /srv/secret/path');
        }
        return { status: 'done', outputs: { encoding: 'uint8', sets: [], championBytes: 10, challengerBytes: 12 } };
      },
    },
    gate: {
      step: 'gate',
      inputs: async ({ outputsOf }) => ({ evaluation: outputsOf('evaluate'), promote: b.promote }),
      async execute() {
        count('gate');
        return { status: 'done', outputs: { promote: b.promote, checks: [], reason: b.promote ? 'better on the holdout' : 'holdout gain 0.2 points (bound 1)' } };
      },
      outcome: gateStep.outcome,
    },
    publish: {
      step: 'publish',
      inputs: async ({ outputsOf }) => ({ run: outputsOf('train').runId }),
      async execute() {
        count('publish');
        return { status: 'done', outputs: { modelVersionId: crypto.randomUUID(), version: 2 } };
      },
    },
    rollout: {
      step: 'rollout',
      inputs: async ({ outputsOf }) => ({ version: outputsOf('publish').modelVersionId }),
      async execute() {
        count('rollout');
        return { status: 'done', outputs: { version: 2, share: 0.1, state: 'promoted', reason: 'no regression in 200 canary events', canaryEvents: 200 } };
      },
      outcome: rolloutStep.outcome,
    },
  };
}

export const zeroCounts = (): Record<PipelineStep, number> => ({ 'build-dataset': 0, train: 0, evaluate: 0, gate: 0, publish: 0, rollout: 0 });


/** Model `model` v1 of the project (rows written directly), with its production channel pointing to it: the champion. */
export async function championOnChannel(deps: HubDeps, project: string, model: string): Promise<void> {
  await publishedVersion(deps, project, model, 1);
  const { id: projectId } = await getProject(deps, project);
  const [registered] = (await deps.db.select().from(registeredModels)).filter((m) => m.projectId === projectId && m.name === model);
  const [version] = (await deps.db.select().from(modelVersions)).filter((v) => v.modelId === registered!.id);
  await deps.db.insert(channels).values({ modelId: registered!.id, name: 'production', modelVersionId: version!.id, movedBy: 'test', movedAt: new Date() });
}
