/** CLI commands for training and publishing: `worker` runs jobs; the rest talk to a running hub with a token. */
import { Console } from 'node:console';
import { type Command, Option } from 'commander';
import { AUGMENTATIONS, BACKEND_PREFERENCES } from '@edgeloop/shared';
import { loadEnv } from '../env';
import { openHub } from '../hub';
import { progressBar } from '../progress';
import { startTrainingWorker } from '../training/training-worker';
import { startReferenceProfileWorker } from '../monitoring/reference-profile.job';
import { startWorkerHttp } from '../worker-http';
import { type RemoteHub, type RemoteOptions, remoteHub } from './remote-hub';

interface TrainOptions extends RemoteOptions {
  dataset: string;
  architecture?: string;
  epochs?: string;
  batchSize?: string;
  learningRate?: string;
  seed?: string;
  backend?: string;
  augmentation?: string;
}

const remoteOptions = (command: Command) =>
  command
    .option('--hub <url>', 'hub URL (default: EDGELOOP_HUB_URL or http://127.0.0.1:8787)')
    .option('--token <secret>', 'API token (default: EDGELOOP_TOKEN)');

const trainOptions = (command: Command) =>
  remoteOptions(command)
    .option('--dataset <version>', 'dataset version id or prefix, or "latest"', 'latest')
    .option('--architecture <name>', 'reference-cnn or mobilenet')
    .option('--epochs <n>', 'epochs')
    .option('--batch-size <n>', 'batch size')
    .option('--learning-rate <x>', 'Adam learning rate')
    .option('--seed <n>', 'seed for initialisation and shuffling')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKEND_PREFERENCES))
    .addOption(new Option('--augmentation <kind>', 'training-time augmentation').choices(AUGMENTATIONS));

/** Human output goes to stderr, so stdout carries only the result (a run id, a version) for scripts. */
const human = new Console(process.stderr);

const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));

async function resolveDataset(hub: RemoteHub, project: string, dataset: string): Promise<string> {
  if (dataset !== 'latest') return dataset;
  const [latest] = await hub.datasets.list.query({ project });
  if (!latest) throw new Error(`project ${project} has no dataset version yet: commit one first (edgeloop commit ${project} -m ...)`);
  return latest.id;
}

/** Queues a run and follows it with a progress bar until it ends; returns the run id. */
async function trainAndWait(hub: RemoteHub, project: string, opts: TrainOptions): Promise<string> {
  const datasetVersion = await resolveDataset(hub, project, opts.dataset);
  const train = Object.fromEntries(
    Object.entries({ epochs: number(opts.epochs), batchSize: number(opts.batchSize), learningRate: number(opts.learningRate), seed: number(opts.seed), backend: opts.backend, augmentation: opts.augmentation }).filter(([, v]) => v !== undefined),
  );
  const run = await hub.runs.create.mutate({ project, datasetVersion, train, ...(opts.architecture ? { model: { architecture: opts.architecture } } : {}) });
  console.error(`run ${run.id} queued on dataset ${datasetVersion.slice(0, 12)}`);
  // Two phases, as the admin shows them: images decoded of the dataset version, then epochs and steps.
  const loadBar = progressBar(`load ${run.id.slice(0, 8)}`);
  const bar = progressBar(`train ${run.id.slice(0, 8)}`);
  let loaded = false;
  try {
    for (;;) {
      const current = await hub.runs.get.query({ runId: run.id, logLines: 0 });
      const p = current.progress;
      if (current.loading && !p) loadBar.update(current.loading.done, current.loading.total);
      if (p && !loaded) {
        if (current.loading) loadBar.update(current.loading.total, current.loading.total);
        loadBar.stop();
        loaded = true;
      }
      if (p) bar.update((p.epoch - 1) * p.steps + p.step, p.epochs * p.steps);
      if (!['queued', 'running'].includes(current.status)) {
        loadBar.stop();
        bar.stop();
        if (current.status !== 'succeeded') throw new Error(`run ${run.id} ${current.status}${current.error ? `: ${current.error}` : ''}`);
        human.table(current.epochs.map((e) => ({ epoch: e.epoch, loss: e.loss.toFixed(4), accuracy: e.accuracy.toFixed(4), valLoss: e.valLoss.toFixed(4), valAccuracy: e.valAccuracy.toFixed(4), 'images/s': Math.round(e.imagesPerSecond) })));
        console.error(`test accuracy ${(current.metrics.testAccuracy! * 100).toFixed(2)}%`);
        return run.id;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    loadBar.stop();
    bar.stop();
  }
}

export function addTrainingCommands(program: Command): void {
  program
    .command('worker')
    .description('take training and reference-profile jobs from the queue (set DATABASE_URL and S3_* to share a hub\'s database and store)')
    .option('--name <name>', 'worker name in run lineage (default host:pid)')
    .action(async (opts: { name?: string }) => {
      const env = loadEnv();
      const hub = await openHub(env);
      const worker = await startTrainingWorker(hub.deps, { ...(opts.name ? { name: opts.name } : {}), staleAfterMs: env.TRAINING_STALE_AFTER_MS });
      const profileWorker = await startReferenceProfileWorker(hub.deps, opts.name ? { name: opts.name } : {});
      // Probes and Prometheus (WORKER_HTTP_PORT); unset, the worker serves no HTTP.
      const http = env.WORKER_HTTP_PORT === undefined ? null : await startWorkerHttp(hub.deps, { port: env.WORKER_HTTP_PORT, host: env.HUB_HOST, metricsToken: env.METRICS_TOKEN });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      http?.shutDown();
      await worker.stop();
      await profileWorker.stop();
      // Job steps in flight get the grace period; a run still training then goes back to the queue for another worker.
      // The listener stays up meanwhile: probes see the worker alive (readyz 503), and Prometheus its last job.
      await hub.close({ jobGraceMs: env.SHUTDOWN_GRACE_MS });
      await http?.close();
    });

  trainOptions(program.command('train <project>').description('queue a training run on a running hub and follow its progress')).action(
    async (project: string, opts: TrainOptions) => {
      console.log(await trainAndWait(remoteHub(opts), project, opts));
    },
  );

  trainOptions(
    program
      .command('publish <project>')
      .description('train (or take --run), export, gate quantized encodings, publish a model version, optionally promote it')
      .requiredOption('--model <name>', 'registered model name, e.g. fashion-cnn')
      .option('--run <id>', 'publish this succeeded run instead of training a new one')
      .option('--max-drop <points>', 'largest accuracy drop (points) a quantized encoding may show (default: the run\'s, 0.5)')
      .option('--promote <channel>', 'move this channel (e.g. production) to the new version')
      .option('--reason <why>', 'why, for the channel history', 'published by CI'),
  ).action(async (project: string, opts: TrainOptions & { model: string; run?: string; maxDrop?: string; promote?: string; reason: string }) => {
    const hub = remoteHub(opts);
    const runId = opts.run ?? (await trainAndWait(hub, project, opts));
    const published = await hub.registry.publish.mutate({ runId, model: opts.model, ...(opts.maxDrop ? { maxQuantizationDrop: Number(opts.maxDrop) } : {}) });
    if (published.existing) console.error(`run ${runId} is already published as v${published.version} of ${project}/${opts.model}: ${published.manifestUrl}`);
    else {
      for (const g of published.gate) console.error(`${g.format}: accuracy ${(g.accuracy * 100).toFixed(2)}% (drop ${g.drop.toFixed(2)} points) ${g.published ? 'published' : `refused: ${g.reason}`}`);
      console.error(`published ${project}/${opts.model} v${published.version}: ${published.manifestUrl}`);
    }
    if (opts.promote) {
      await hub.registry.promote.mutate({ project, model: opts.model, channel: opts.promote, version: published.version, reason: opts.reason });
      console.error(`${opts.promote} -> v${published.version}`);
    }
    console.log(published.version);
  });

  remoteOptions(program.command('promote <project> <model> <version>').description('move a channel to a model version'))
    .option('--channel <name>', 'channel', 'production')
    .requiredOption('--reason <why>', 'why, for the channel history')
    .action(async (project: string, model: string, version: string, opts: RemoteOptions & { channel: string; reason: string }) => {
      const moved = await remoteHub(opts).registry.promote.mutate({ project, model, channel: opts.channel, version: Number(version), reason: opts.reason });
      console.log(`${opts.channel} -> v${moved.version.version}`);
    });

  remoteOptions(
    program
      .command('rollback <project> <model>')
      .description('undo the channel\'s latest promote not yet undone; names the target version, and moves only with --yes'),
  )
    .option('--channel <name>', 'channel', 'production')
    .requiredOption('--reason <why>', 'why, for the channel history')
    .option('--yes', 'roll back without asking (the target is printed first)')
    .action(async (project: string, model: string, opts: RemoteOptions & { channel: string; reason: string; yes?: boolean }) => {
      const hub = remoteHub(opts);
      const target = await hub.registry.rollbackTarget.query({ project, model, channel: opts.channel });
      if (target.to === null) throw new Error(`cannot roll back ${opts.channel} of ${project}/${model}: ${target.reason}`);
      if (!opts.yes) {
        console.error(`a rollback would move ${opts.channel} of ${project}/${model} from v${target.from} to v${target.to}; run again with --yes to do it`);
        process.exitCode = 1;
        return;
      }
      console.error(`rolling back ${opts.channel} from v${target.from} to v${target.to}`);
      const moved = await hub.registry.rollback.mutate({ project, model, channel: opts.channel, reason: opts.reason, to: target.to });
      console.log(`${opts.channel} -> v${moved.version.version}`);
    });
}
