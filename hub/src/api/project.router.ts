import { z } from 'zod';
import { createProject, getProject, listProjects } from '../datasets/project.service';
import { procedureFor, router } from './trpc';

const slug = z.string().min(1, 'project must name a project slug');

export const projectRouter = router({
  list: procedureFor('admin', 'engineer', 'labeler', 'ci', 'device').query(({ ctx }) => listProjects(ctx.deps)),
  get: procedureFor('admin', 'engineer', 'labeler', 'ci', 'device')
    .input(z.object({ project: slug }))
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
export { slug as projectSlugInput };
