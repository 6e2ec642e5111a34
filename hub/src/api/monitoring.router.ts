import { modelNameSchema, versionNumberSchema } from '@edgeloop/shared';
import { z } from 'zod';
import { type ProfileAnswer, referenceProfileOf } from '../monitoring/reference-profile.service';
import { projectInput as project } from './inputs';
import { procedureFor, router } from './trpc';

export const monitoringRouter = router({
  // --- Reference profiles ---------------------------------------------------------------------------------------
  /**
   * A model version's reference profile: computing, failed (with why) or ready (the summary: test accuracy,
   * confusion, calibration, detector thresholds). Asking for one that does not exist yet starts it (versions published
   * before profiles existed). Admin, engineer and ci read it as they read the registry's versions; labelers and
   * devices see no model metrics.
   */
  profile: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, model: modelNameSchema, version: versionNumberSchema }))
    .query(({ ctx, input }): Promise<ProfileAnswer> => referenceProfileOf(ctx.deps, input)),
  // --- end of reference profiles ----------------------------------------------------------------------------------
});
