import { labelSetSchema, maxImagePixelsSchema, projectSlugSchema, text } from '@edgeloop/shared';
import { z } from 'zod';
import { createProject, getProject, listProjects } from '../projects/project.service';
import { projectInput } from './inputs';
import { noProject, procedureFor, projectIn, router } from './trpc';

export const projectRouter = router({
  /** Only the projects the caller's token is scoped to. */
  list: procedureFor(noProject, 'admin', 'engineer', 'labeler', 'ci', 'device').query(({ ctx }) => listProjects(ctx.deps, ctx.caller.projects)),
  get: procedureFor('admin', 'engineer', 'labeler', 'ci', 'device')
    .input(z.object({ project: projectInput }))
    .query(async ({ ctx, input }) => {
      const project = await getProject(ctx.deps, input.project);
      return { slug: project.slug, name: project.name, labels: project.labels, maxImagePixels: project.maxImagePixels, createdAt: project.createdAt.toISOString() };
    }),
  /** A project-scoped engineer token may not make projects outside its scope (and every slug in it is taken). */
  create: procedureFor(projectIn('slug'), 'admin', 'engineer')
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
