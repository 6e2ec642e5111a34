import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { authRouter } from './auth.router';
import { datasetRouter } from './dataset.router';
import { devicesRouter } from './devices.router';
import { feedbackRouter } from './feedback.router';
import { itemRouter } from './item.router';
import { labelingRouter } from './labeling.router';
import { monitoringRouter } from './monitoring.router';
import { pipelineRouter } from './pipeline.router';
import { projectRouter } from './project.router';
import { registryRouter } from './registry.router';
import { runRouter } from './run.router';
import { publicProcedure, router } from './trpc';

export const appRouter = router({
  health: publicProcedure.query(() => ({ ok: true as const })),
  auth: authRouter,
  projects: projectRouter,
  items: itemRouter,
  datasets: datasetRouter,
  runs: runRouter,
  registry: registryRouter,
  feedback: feedbackRouter,
  monitoring: monitoringRouter,
  labeling: labelingRouter,
  pipeline: pipelineRouter,
  devices: devicesRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
