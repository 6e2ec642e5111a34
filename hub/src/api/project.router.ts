import { labelSetSchema, maxImagePixelsSchema, projectSlugSchema, text } from '@edgeloop/shared';
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
      return { slug: project.slug, name: project.name, labels: project.labels, maxImagePixels: project.maxImagePixels, createdAt: project.createdAt.toISOString() };
    }),
  create: procedureFor('admin', 'engineer')
    .input(
      z.object({
        slug: projectSlugSchema,
        name: text(200).optional(),
        labels: labelSetSchema,
        /** Largest image (width x height) the project accepts; DEFAULT_MAX_IMAGE_PIXELS (4096 x 4096) when not given. */
        maxImagePixels: maxImagePixelsSchema.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const project = await createProject(ctx.deps, { ...input, createdBy: ctx.caller.name });
      return { slug: project.slug, name: project.name, labels: project.labels, maxImagePixels: project.maxImagePixels };
    }),
});
