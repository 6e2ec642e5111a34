/**
 * Step 6, rollout: the published challenger goes to a canary share of the channel's devices (startCanary); the step
 * then waits, looking every so often, until the canary is decided for this version: promoted to every device, or
 * rolled back. That decision is the run's outcome.
 */
import type { RolloutOutputs } from '@edgeloop/shared';
import { canaryState, startCanary } from '../registry/channel.service';
import type { PipelineStepDefinition } from './pipeline-step';
import { runCaller } from './train.step';

export const ROLLOUT_POLL_SECONDS = 10;

export const rolloutStep: PipelineStepDefinition<'rollout'> = {
  step: 'rollout',
  async inputs({ run, outputsOf }) {
    return { version: outputsOf('publish').version, model: run.model, channel: run.channel, share: run.settings.rollout.canaryShare };
  },
  async execute({ deps, run, log, outputsOf }, previous) {
    const { version } = outputsOf('publish');
    const share = run.settings.rollout.canaryShare;
    const ref = { project: run.project, model: run.model, channel: run.channel };
    if (!previous?.state) {
      // A retried attempt finds the canary its predecessor started (or already decided) and waits on it.
      const now = await canaryState(deps, ref);
      if (now.candidate?.version !== version && now.lastDecision?.version !== version) {
        await startCanary(deps, runCaller(run), { ...ref, version, share, reason: `pipeline run ${run.id}: challenger v${version} passed the gate` });
      }
      log(`v${version} is the canary on ${Math.round(share * 100)}% of ${run.channel}'s devices`);
      return { status: 'wait', afterSeconds: ROLLOUT_POLL_SECONDS, outputs: { version, share, state: 'canary', reason: null, canaryEvents: 0 } };
    }
    const state = await canaryState(deps, ref);
    const decision = state.lastDecision?.version === version ? state.lastDecision : null;
    if (decision) {
      log(`v${version} ${decision.decision}: ${decision.reason}`);
      const outputs: RolloutOutputs = { version, share, state: decision.decision, reason: decision.reason, canaryEvents: state.candidate?.canaryEvents ?? previous.canaryEvents ?? 0 };
      return { status: 'done', outputs };
    }
    return { status: 'wait', afterSeconds: ROLLOUT_POLL_SECONDS, outputs: { canaryEvents: state.candidate?.version === version ? state.candidate.canaryEvents : (previous.canaryEvents ?? 0) } };
  },
  outcome: (rollout) => (rollout.state === 'canary' ? null : { outcome: rollout.state, final: true }),
};
