/**
 * Step 1, build-dataset: the champion's training dataset version + the project's accepted reviewed items, less a
 * holdout of the newest ones that training never sees. A reviewed item already in the base keeps its split and takes
 * the reviewed label; a new one gets its split from its sha256 (80/10/10 train/val/test), so the same item always
 * lands in the same split (train where the base has no such split). Each records where it came from (the prediction, the rule that accepted it).
 */
import type { AcceptanceRule, BuildDatasetOutputs, ManifestItem, PipelineSettings, Split } from '@edgeloop/shared';
import { commitItems, loadManifest } from '../datasets/version.service';
import type { HubDeps } from '../deps';
import { type AcceptedReviewItem, acceptedOfProject } from '../feedback/review-item.repository';
import * as models from '../registry/model-version.repository';
import { requireRun } from '../training/run.service';
import { sha256Hex } from '../sha256';
import { canonicalJson } from './canonical-json';
import type { PipelineRunView, PipelineStepDefinition } from './pipeline-step';

/** train below 0.8, val below 0.9, test above: of the item's sha256's first 32 bits as a fraction. */
export function splitOfSha256(sha256: string): Split {
  const u = Number.parseInt(sha256.slice(0, 8), 16) / 2 ** 32;
  return u < 0.8 ? 'train' : u < 0.9 ? 'val' : 'test';
}

/**
 * How many of `accepted` items the holdout keeps: the settings' share, at least minItems when there are that many;
 * none when there are fewer.
 */
export function holdoutSize(accepted: number, holdout: PipelineSettings['holdout']): number {
  if (accepted < holdout.minItems) return 0;
  return Math.min(accepted, Math.max(holdout.minItems, Math.round(accepted * holdout.share)));
}

/** The object-store key of a holdout list: content-addressed by the list's sha256. */
export const holdoutKey = (sha256: string) => `pipelines/holdouts/${sha256}.json`;

/** The dataset version the champion was trained on. */
export async function championDatasetVersion(deps: HubDeps, run: PipelineRunView): Promise<string> {
  const champion = await models.findVersionById(deps.db, run.championVersionId);
  if (!champion) throw new Error(`the champion version ${run.championVersionId} no longer exists`);
  return (await requireRun(deps, champion.runId)).datasetVersionId;
}

/** The accepted items' identity and order (newest last), as hashed into the step's inputs. */
const acceptedIdentity = (items: AcceptedReviewItem[]) => items.map((i) => [i.sha256, i.label, i.rule, i.predictionId]);

/**
 * The new version's items: the base with reviewed labels applied and reviewed items added, the holdout left out. A new
 * item goes to train when its hash split is one the base does not have: a base without a val split is validated on
 * train items it holds out (training's loader), and a few dozen reviewed images must not become the whole val split
 * (the reference profile would calibrate on them alone, or refuse under 20).
 */
export function mergeItems(base: ManifestItem[], added: AcceptedReviewItem[], holdout: Set<string>): ManifestItem[] {
  const baseSplits = new Set(base.map((item) => item.split));
  const bySha = new Map(base.filter((item) => !holdout.has(item.sha256)).map((item) => [item.sha256, item]));
  for (const item of added) {
    const origin = { predictionId: item.predictionId, acceptedBy: item.rule };
    const existing = bySha.get(item.sha256);
    const hashed = splitOfSha256(item.sha256);
    bySha.set(item.sha256, { sha256: item.sha256, label: item.label, split: existing?.split ?? (baseSplits.has(hashed) ? hashed : 'train'), origin });
  }
  return [...bySha.values()];
}

export const buildDatasetStep: PipelineStepDefinition<'build-dataset'> = {
  step: 'build-dataset',
  async inputs({ deps, run }) {
    const accepted = await acceptedOfProject(deps.db, run.projectId);
    return { baseVersionId: await championDatasetVersion(deps, run), accepted: sha256Hex(canonicalJson(acceptedIdentity(accepted))), holdout: run.settings.holdout };
  },
  async execute({ deps, run, log }) {
    const baseVersionId = await championDatasetVersion(deps, run);
    const accepted = await acceptedOfProject(deps.db, run.projectId);
    const held = holdoutSize(accepted.length, run.settings.holdout);
    // acceptedOfProject is oldest decision first: the holdout is the tail.
    const holdout = accepted.slice(accepted.length - held);
    const added = accepted.slice(0, accepted.length - held);
    const holdoutList = holdout.map((i) => ({ sha256: i.sha256, label: i.label })).sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
    const holdoutBytes = new TextEncoder().encode(JSON.stringify(holdoutList));
    const holdoutSha256 = sha256Hex(holdoutBytes);
    await deps.store.put(holdoutKey(holdoutSha256), holdoutBytes, { contentType: 'application/json' });
    log(`${accepted.length} accepted reviewed items: ${added.length} join the dataset, the newest ${held} are the holdout`);

    const { manifest } = await loadManifest(deps, run.project, baseVersionId);
    const items = mergeItems(manifest.items, added, new Set(holdout.map((i) => i.sha256)));
    const { version, created } = await commitItems(deps, {
      project: run.project,
      items,
      parentId: baseVersionId,
      message: `pipeline run ${run.id}: ${added.length} reviewed items on ${baseVersionId.slice(0, 12)}, ${held} held out`,
      createdBy: run.createdBy,
    });
    log(`${created ? 'committed' : 'reusing'} dataset version ${version.id.slice(0, 12)} (${version.itemCount} items)`);
    const addedByRule: Partial<Record<AcceptanceRule, number>> = {};
    for (const item of added) addedByRule[item.rule] = (addedByRule[item.rule] ?? 0) + 1;
    const outputs: BuildDatasetOutputs = {
      baseVersionId,
      datasetVersionId: version.id,
      added: added.length,
      addedByRule,
      holdout: { key: holdoutKey(holdoutSha256), items: holdoutList.length, sha256: holdoutSha256 },
    };
    return { status: 'done', outputs };
  },
};
