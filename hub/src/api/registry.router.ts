import { MAX_IMAGE_BASE64_CHARS, type TrustedKeySet, channelNameSchema, modelNameSchema, text, versionNumberSchema } from '@edgeloop/shared';
import { z } from 'zod';
import { canaryState, decideCanary, getChannel, listModelVersions, listModels, promote, rollback, rollbackTarget, startCanary } from '../registry/channel.service';
import { predict } from '../registry/predict.service';
import { publishRun, publishedFromRun } from '../registry/publish.service';
import { projectOfRun } from '../training/run.service';
import { signingKey } from '../registry/signing';
import { trustedKeySet } from '../registry/trusted-key-set';
import { versionFiles } from '../registry/version-files.service';
import { projectInput as project } from './inputs';
import { procedureFor, projectOf, publicProcedure, router } from './trpc';

const model = modelNameSchema;
const channel = channelNameSchema;
const reason = text(1000).min(1, 'reason must say why (it is kept in the channel history)');
/** The share of devices a canary runs on: a fraction strictly between 0 and 1. */
const share = z
  .number()
  .gt(0, 'share must be above 0: the fraction of devices that run the candidate, e.g. 0.1 for 10%')
  .lt(1, 'share must be below 1: to send a version to every device, promote it');

/** A channel's staged rollout: a candidate version on a share of devices, promoted to all or aborted. */
const canaryRouter = router({
  /** Sends `version` to `share` of the channel's devices; refused while another canary runs. CI may start one. */
  start: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, model, channel: channel.default('production'), version: versionNumberSchema, share: share.default(0.1), reason }))
    .mutation(({ ctx, input }) => startCanary(ctx.deps, ctx.caller, input)),
  /** Ends the canary by hand: promote the candidate to every device, or abort it. `version`: the candidate decided about. */
  decide: procedureFor('admin', 'engineer')
    .input(z.object({ project, model, channel: channel.default('production'), decision: z.enum(['promote', 'abort']), reason, version: versionNumberSchema.optional() }))
    .mutation(({ ctx, input }) => decideCanary(ctx.deps, ctx.caller, input)),
  /** Where the channel's canary stands: canary vs production, what the rollout check would decide, the latest decision. */
  state: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, model, channel: channel.default('production') }))
    .query(({ ctx, input }) => canaryState(ctx.deps, input)),
});

export const registryRouter = router({
  /**
   * What a device needs to find and trust published models: the keys manifests and pointers may be signed with (an
   * envelope names its key), which one signs now, and the CDN.
   */
  publicKeys: publicProcedure.query(({ ctx }): Promise<TrustedKeySet> => trustedKeySet(ctx.deps)),
  /** The active key only: what PWAs installed before key rotation ask for (they trust one key). */
  publicKey: publicProcedure.query(async ({ ctx }) => {
    const key = await signingKey(ctx.deps);
    return { keyId: key.id, algorithm: 'Ed25519' as const, publicKey: key.publicKeyRaw, publicKeyPem: key.publicKeyPem, cdnBaseUrl: ctx.deps.cdnBaseUrl };
  }),
  publish: procedureFor(projectOf('runId', projectOfRun), 'admin', 'engineer', 'ci')
    .input(z.object({ runId: z.uuid('runId must be a run id (uuid)'), model, maxQuantizationDrop: z.number().min(0).max(100).optional() }))
    .mutation(({ ctx, input }) => publishRun(ctx.deps, ctx.caller, input)),
  /** The model versions a run was published as (none yet: an empty list), oldest first. */
  publishedFrom: procedureFor(projectOf('runId', projectOfRun), 'admin', 'engineer', 'ci')
    .input(z.object({ runId: z.uuid('runId must be a run id (uuid)') }))
    .query(({ ctx, input }) => publishedFromRun(ctx.deps, input.runId)),
  models: procedureFor('admin', 'engineer', 'ci').input(z.object({ project })).query(({ ctx, input }) => listModels(ctx.deps, input)),
  versions: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, model }))
    .query(({ ctx, input }) => listModelVersions(ctx.deps, input)),
  /** A version's published files (signed manifest, each encoding's model.json and shards) with their download URLs. */
  files: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, model, version: versionNumberSchema }))
    .query(({ ctx, input }) => versionFiles(ctx.deps, input)),
  promote: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, model, channel, version: versionNumberSchema, reason }))
    .mutation(({ ctx, input }) => promote(ctx.deps, ctx.caller, input)),
  rollback: procedureFor('admin', 'engineer')
    .input(
      z.object({
        project,
        model,
        channel,
        reason,
        /** The version the caller was told the rollback goes to (registry.rollbackTarget); refused if it would now go elsewhere. */
        to: versionNumberSchema.optional(),
      }),
    )
    .mutation(({ ctx, input }) => rollback(ctx.deps, ctx.caller, input)),
  /** Where a rollback of the channel would go (`to` null, with the reason, when there is nothing earlier): asked before rolling back. */
  rollbackTarget: procedureFor('admin', 'engineer')
    .input(z.object({ project, model, channel: channel.default('production') }))
    .query(({ ctx, input }) => rollbackTarget(ctx.deps, input)),
  /** Devices and labelers read where a channel points; so may everyone else. */
  channel: procedureFor('admin', 'engineer', 'ci', 'labeler', 'device')
    .input(z.object({ project, model, channel: channel.default('production') }))
    .query(({ ctx, input }) => getChannel(ctx.deps, input)),
  predict: procedureFor('admin', 'engineer', 'labeler', 'device')
    .input(
      z.object({
        project,
        model,
        channel: channel.optional(),
        version: versionNumberSchema.optional(),
        imageBase64: z.string().min(1, 'imageBase64 must hold the image bytes, base64').max(MAX_IMAGE_BASE64_CHARS, 'imageBase64: image larger than 10 MiB'),
        topK: z.number().int().min(1).max(1000).default(5),
      }),
    )
    .mutation(({ ctx, input }) => predict(ctx.deps, ctx.caller, input)),
  canary: canaryRouter,
});

