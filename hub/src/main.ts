import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBootstrapAdmin } from './auth/bootstrap';
import { ensureDemoProject } from './demo';
import { migrationStatus, shippedMigrations } from './db/migration-status';
import { loadEnv } from './env';
import { HubError } from './errors';
import { trackForDrain } from './http-drain';
import { startHousekeeping } from './housekeeping';
import { startMonitorWorker } from './monitoring/monitor.job';
import { openHub } from './hub';
import { progressLogger } from './progress';
import { createReadiness } from './readiness';
import { createHubServer, listen } from './server';
import { startTrainingWorker } from './training/training-worker';
import { startReferenceProfileWorker } from './monitoring/reference-profile.job';
import { startRolloutWorker } from './registry/rollout-check.job';
import { startPipelineWorker } from './pipelines/pipeline-worker';

const WEB_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../web-client/dist');

/** `npm start`: the hub on one port with embedded defaults, the demo project, and the web apps. */
export async function serve(): Promise<void> {
  const env = loadEnv();
  const hub = await openHub(env);
  const { deps } = hub;
  if (!env.MIGRATE_ON_START) {
    // Migrations are their own step (`edgeloop migrate`); a schema one release behind still serves (expand, then contract).
    const { pending } = await migrationStatus(deps.db);
    if (pending.length === shippedMigrations().length) {
      await hub.close();
      throw new HubError('CONFLICT', 'the database has no schema yet: run `edgeloop migrate` first (MIGRATE_ON_START is false)');
    }
    if (pending.length > 0) deps.log.warn(`${pending.length} migration(s) pending (${pending.map((m) => m.tag).join(', ')}): /readyz answers 503 until \`edgeloop migrate\` has run`);
  }
  await ensureBootstrapAdmin(deps, env.dataDir);
  // The server signs (publish, promote): its keys are ready, and any key an older hub left in the database moved out.
  await deps.keys.ready();
  deps.log.info(`signing keys: ${deps.keys.dir} (active ${(await deps.keys.active()).id})`);
  const readiness = createReadiness(deps);
  const server = createHubServer(deps, { webRoot: WEB_ROOT, s3: hub.s3Route, metricsToken: env.METRICS_TOKEN, readiness });
  const http = trackForDrain(server);
  const address = await listen(server, env.HUB_PORT, env.HUB_HOST);
  const url = env.HUB_PUBLIC_URL ?? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  hub.setPublicOrigin(url);
  deps.log.info(`hub listening on ${url} (admin app: ${url}/admin/, API: ${url}/trpc)`);
  if (!env.HUB_PUBLIC_URL && ['0.0.0.0', '::'].includes(address.address)) {
    deps.log.warn(`upload URLs name ${url}, which devices cannot reach: set HUB_PUBLIC_URL to the address they use (e.g. http://192.168.1.20:${address.port})`);
  }
  const housekeeping = startHousekeeping(deps);

  // Training runs in worker threads, so an in-process worker leaves the hub's event loop free.
  const worker = env.TRAINING_WORKER ? await startTrainingWorker(deps, { staleAfterMs: env.TRAINING_STALE_AFTER_MS }) : null;
  // Reference profiles run published models too: computed where models are trained.
  const profileWorker = env.TRAINING_WORKER ? await startReferenceProfileWorker(deps) : null;
  // Monitor updates are short transactions (about 0.1 s per 1,000 events) between requests.
  const monitorWorker = env.MONITOR_WORKER ? await startMonitorWorker(deps) : null;
  // Canaries are judged from what the monitors stored: where they run.
  const rolloutWorker = env.MONITOR_WORKER ? await startRolloutWorker(deps) : null;
  // Pipeline steps mostly wait on training runs and canaries; the triggers are checked every minute.
  const pipelineWorker = env.PIPELINE_WORKER ? await startPipelineWorker(deps) : null;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    const left = () => Math.max(0, env.SHUTDOWN_GRACE_MS - (Date.now() - started));
    try {
      deps.log.info(`${signal}: shutting down within ${env.SHUTDOWN_GRACE_MS} ms: /readyz answers 503`);
      readiness.shutDown();
      const requests = http
        .drain(env.SHUTDOWN_GRACE_MS, () => deps.log.info('shutdown: no longer accepting connections'))
        .then(({ forced }) => deps.log.info(forced ? 'shutdown: grace period over, closed the connections left' : 'shutdown: requests in flight finished, connections closed'));
      deps.log.info('shutdown: job workers take no new jobs');
      // offWork stops fetching; the pipeline worker's stop also waits for its steps, so it is bounded by the grace period.
      const workers = Promise.allSettled([worker?.stop(), profileWorker?.stop(), monitorWorker?.stop(), rolloutWorker?.stop(), pipelineWorker?.stop(), housekeeping.stop()]);
      await requests;
      await Promise.race([workers, new Promise((resolve) => setTimeout(resolve, left()))]);
      deps.log.info(`shutdown: waiting up to ${left()} ms for job steps in flight (the rest go back to the queue), then closing the pools`);
      await hub.close({ jobGraceMs: left() });
    } catch (error) {
      deps.log.error(`shutdown: ${(error as Error).message}`);
      process.exit(1);
    }
    deps.log.info('shutdown: done');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  if (env.DEMO_PROJECT) {
    await ensureDemoProject(deps, env.FASHION_MNIST_DIR, progressLogger(deps.log, 'demo import'));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve().catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
