/**
 * Champion vs challenger on the same sets, with the weight encoding devices run: the base version's test split, the
 * recent holdout of reviewed items, and the test split reweighted to the class priors estimated on the champion's
 * production stream. Per item, both models' predictions are paired, for McNemar's test in the gate.
 */
import type { EvaluateOutputs } from '@edgeloop/shared';
import type { HubDeps } from '../deps';

export interface ChampionChallengerInput {
  project: string;
  /** The published version devices run now, and the training run that made the challenger (not published yet). */
  championVersionId: string;
  challengerRunId: string;
  /** The dataset version whose test split is the base test set (the champion's training data). */
  baseVersionId: string;
  /** The holdout list in the object store (build-dataset's outputs.holdout.key). */
  holdoutKey: string;
  /** The channel whose champion stream's label-shift estimate gives the reweighting priors. */
  channel: string;
}

export async function evaluateChampionChallenger(deps: HubDeps, input: ChampionChallengerInput, log: (line: string) => void): Promise<EvaluateOutputs> {
  void deps;
  void input;
  void log;
  throw new Error('evaluateChampionChallenger: not built yet');
}
