/** The `edgeloop replay` command: its options, checked with their bounds, and its output. */
import { channelNameSchema, maxImagePixelsSchema, modelNameSchema, projectSlugSchema } from '@edgeloop/shared';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadEnv } from '../env';
import { progressBar } from '../progress';
import { type RemoteOptions, remoteHub } from './remote-hub';
import { DEFAULT_REVIEW_TIMEOUT_SECONDS, MAX_REPLAY_DEVICES, MAX_REPLAY_IMAGES, onlyModel, replay, summaryLines } from './replay';

const count = (what: string, max: number) =>
  z.coerce.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).min(1, `${what} must be at least 1`).max(max, `${what} must be at most ${max}`);

const replayOptionsSchema = z.object({
  model: modelNameSchema.optional(),
  channel: channelNameSchema,
  devices: count('--devices', MAX_REPLAY_DEVICES),
  reviewRate: z.coerce.number({ error: '--review-rate must be a number' }).min(0, '--review-rate must be between 0 and 1').max(1, '--review-rate must be between 0 and 1'),
  reviewTimeoutSeconds: count('--review-timeout', 3600),
  // Devices are named <session>-<n>, and the hub takes device ids of 8-64 characters.
  session: z.string().regex(/^[a-z0-9][a-z0-9-]{5,31}$/, '--session must be 6-32 characters of a-z, 0-9 and -, starting with a letter or digit'),
  maxImages: count('--max-images', MAX_REPLAY_IMAGES),
  maxImagePixels: z.coerce.number().pipe(maxImagePixelsSchema).optional(),
  json: z.boolean().default(false),
});

type RawOptions = RemoteOptions & Record<Exclude<keyof z.input<typeof replayOptionsSchema>, 'reviewTimeoutSeconds'>, unknown> & { reviewTimeout: unknown };

export function addReplayCommand(program: Command): void {
  program
    .command('replay <project> <folder>')
    .description(
      "classify a folder of images (<label>/* or flat) with a channel's published model, verified as devices verify it, and send the predictions through the hub as simulated devices",
    )
    .option('--hub <url>', 'hub URL (default: EDGELOOP_HUB_URL or http://127.0.0.1:8787)')
    .option('--token <secret>', 'API token (default: EDGELOOP_TOKEN): a device token, or an engineer/admin one with --review-rate')
    .option('--model <name>', "registered model (default: the project's only model)")
    .option('--channel <name>', 'channel to take the model from', 'production')
    .option('--devices <n>', `simulated devices, each with its own deviceId (1-${MAX_REPLAY_DEVICES})`, '1')
    .option(
      '--review-rate <r>',
      "sets the project's review rate to r (0-1; engineer or admin token): the hub's review policy queues about that share of the replayed predictions, and the folder's labels answer its queue",
      '0',
    )
    .option('--review-timeout <s>', "seconds to wait for the hub's monitor to process the replayed events before answering its review queue (1-3600)", String(DEFAULT_REVIEW_TIMEOUT_SECONDS))
    .option('--session <name>', 'names the devices (<session>-<n>) and enters every event id: the same session replays as duplicates, another makes new events', 'replay')
    .option('--max-images <n>', `replay at most the first n images (1-${MAX_REPLAY_IMAGES})`, String(MAX_REPLAY_IMAGES))
    .option('--max-image-pixels <pixels>', 'largest image (width x height) decoded; default 16777216 (4096 x 4096), as a project')
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (project: string, folder: string, raw: RawOptions) => {
      const slug = projectSlugSchema.parse(project);
      const options = replayOptionsSchema.parse({ ...raw, reviewTimeoutSeconds: raw.reviewTimeout });
      const hubUrl = (raw.hub ?? loadEnv().EDGELOOP_HUB_URL).replace(/\/$/, '');
      const hub = remoteHub({ hub: hubUrl, token: raw.token });
      const model = options.model ?? (await onlyModel(hub, slug));
      const bar = progressBar(`replay ${folder}`);
      // Shown once replay waits for the hub's monitor (with --review-rate and labels).
      const monitor: { bar: ReturnType<typeof progressBar> | null } = { bar: null };
      let summary;
      try {
        summary = await replay(hub, hubUrl, {
          ...options,
          project: slug,
          folder,
          model,
          onProgress: bar.update,
          onMonitorProgress: (done, total) => {
            if (!monitor.bar) {
              bar.stop();
              monitor.bar = progressBar('hub monitor: replayed events processed');
            }
            monitor.bar.update(done, total);
          },
        });
      } finally {
        bar.stop();
        monitor.bar?.stop();
      }
      if (options.json) console.log(JSON.stringify(summary));
      else for (const line of summaryLines(summary, options)) console.log(line);
      // The predictions are in, but not every review the queue will ask for was answered.
      if (summary.reviews && !summary.reviews.monitor.caughtUp) process.exitCode = 1;
    });
}
