/** The `edgeloop replay` command: its options, checked with their bounds, and its output. */
import { channelNameSchema, maxImagePixelsSchema, modelNameSchema, projectSlugSchema } from '@edgeloop/shared';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadEnv } from '../env';
import { progressBar } from '../progress';
import { type RemoteOptions, remoteHub } from './remote-hub';
import { MAX_REPLAY_DEVICES, MAX_REPLAY_IMAGES, onlyModel, replay, summaryLines } from './replay';

const count = (what: string, max: number) =>
  z.coerce.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).min(1, `${what} must be at least 1`).max(max, `${what} must be at most ${max}`);

const replayOptionsSchema = z.object({
  model: modelNameSchema.optional(),
  channel: channelNameSchema,
  devices: count('--devices', MAX_REPLAY_DEVICES),
  reviewRate: z.coerce.number({ error: '--review-rate must be a number' }).min(0, '--review-rate must be between 0 and 1').max(1, '--review-rate must be between 0 and 1'),
  seed: z.coerce.number({ error: '--seed must be a number' }).int('--seed must be a whole number').min(0).max(2 ** 32 - 1, '--seed must be at most 4294967295'),
  session: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, '--session must be 1-32 characters of a-z, 0-9 and -, starting with a letter or digit'),
  maxImages: count('--max-images', MAX_REPLAY_IMAGES),
  maxImagePixels: z.coerce.number().pipe(maxImagePixelsSchema).optional(),
  json: z.boolean().default(false),
});

type RawOptions = RemoteOptions & Record<keyof z.input<typeof replayOptionsSchema>, unknown>;

export function addReplayCommand(program: Command): void {
  program
    .command('replay <project> <folder>')
    .description(
      "classify a folder of images (<label>/* or flat) with a channel's published model, verified as devices verify it, and send the predictions through the hub as simulated devices",
    )
    .option('--hub <url>', 'hub URL (default: EDGELOOP_HUB_URL or http://127.0.0.1:8787)')
    .option('--token <secret>', 'API token (default: EDGELOOP_TOKEN): a device token, or a labeler/engineer/admin one with --review-rate')
    .option('--model <name>', "registered model (default: the project's only model)")
    .option('--channel <name>', 'channel to take the model from', 'production')
    .option('--devices <n>', `simulated devices, each with its own deviceId (1-${MAX_REPLAY_DEVICES})`, '1')
    .option('--review-rate <r>', "share (0-1) of labelled predictions whose folder label is sent as a review", '0')
    .option('--seed <n>', 'seed for choosing the reviewed predictions', '1')
    .option('--session <name>', 'names the devices (<session>-<n>) and enters every event id: the same session replays as duplicates, another makes new events', 'replay')
    .option('--max-images <n>', `replay at most the first n images (1-${MAX_REPLAY_IMAGES})`, String(MAX_REPLAY_IMAGES))
    .option('--max-image-pixels <pixels>', 'largest image (width x height) decoded; default 16777216 (4096 x 4096), as a project')
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (project: string, folder: string, raw: RawOptions) => {
      const slug = projectSlugSchema.parse(project);
      const options = replayOptionsSchema.parse(raw);
      const hubUrl = (raw.hub ?? loadEnv().EDGELOOP_HUB_URL).replace(/\/$/, '');
      const hub = remoteHub({ hub: hubUrl, token: raw.token });
      const model = options.model ?? (await onlyModel(hub, slug));
      const bar = progressBar(`replay ${folder}`);
      let summary;
      try {
        summary = await replay(hub, hubUrl, { ...options, project: slug, folder, model, onProgress: bar.update });
      } finally {
        bar.stop();
      }
      if (options.json) console.log(JSON.stringify(summary));
      else for (const line of summaryLines(summary, options)) console.log(line);
    });
}
