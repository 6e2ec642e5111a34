import { INFERENCE_BACKENDS } from '@edgeloop/shared';
import { z } from 'zod';
import { MAX_DEVICE_PAGE, MAX_DEVICE_WINDOW_DAYS, devicesSeen } from '../feedback/device-stats.service';
import { projectInput as project } from './inputs';
import { procedureFor, router } from './trpc';

export const devicesRouter = router({
  /** The devices that sent predictions in the last `days` days, most recently seen first, with their latency distributions. */
  seen: procedureFor('admin', 'engineer')
    .input(
      z.object({
        project,
        days: z.number().int().min(1, 'days must be at least 1').max(MAX_DEVICE_WINDOW_DAYS, `days must be at most ${MAX_DEVICE_WINDOW_DAYS}`).default(7),
        backend: z.enum(INFERENCE_BACKENDS, { error: () => `backend must be one of: ${INFERENCE_BACKENDS.join(', ')}` }).optional(),
        limit: z.number().int().min(1, 'limit must be at least 1').max(MAX_DEVICE_PAGE, `limit must be at most ${MAX_DEVICE_PAGE}`).default(25),
        offset: z.number().int().min(0, 'offset must be 0 or more').max(100_000, 'offset must be at most 100000').default(0),
      }),
    )
    .query(({ ctx, input }) => devicesSeen(ctx.deps, input)),
});
