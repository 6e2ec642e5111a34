import { z } from 'zod';
import { createProject, getProject, listProjects } from '../datasets/project.service';
import { projectInput } from './inputs';
import { procedureFor, router } from './trpc';

export const projectRouter = router({
  list: procedureFor('admin', 'engineer', 'labeler', 'ci', 'device').query(({ ctx }) => listProjects(ctx.deps)),
  get: procedureFor('admin', 'engineer', 'labeler', 'ci', 'device')
    .input(z.object({ project: projectInput }))
    .query(async ({ ctx, input }) => {
      const project = await getProject(ctx.deps, input.project);
      return { slug: project.slug, name: project.name, labels: project.labels, createdAt: project.createdAt.toISOString() };
    }),
  create: procedureFor('admin', 'engineer')
    .input(z.object({ slug: z.string(), name: z.string().max(200).optional(), labels: z.array(z.string()) }))
    .mutation(async ({ ctx, input }) => {
      const project = await createProject(ctx.deps, { ...input, createdBy: ctx.caller.name });
      return { slug: project.slug, name: project.name, labels: project.labels };
    }),
});
