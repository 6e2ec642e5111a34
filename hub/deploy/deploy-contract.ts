/**
 * What the deployment files (Dockerfile, compose.yaml, k8s/) rely on from the hub, in one place: its port, its probe
 * paths, the CLI commands each container runs and the variables it reads. The Kubernetes manifests are built from
 * these values; probes.test.ts checks them against a real hub (HTTP server and CLI), and the tests of the
 * Dockerfile and compose.yaml check those files against them.
 */
import { HUB_ENV_VARIABLES, loadEnv } from '../src/env';
import { READINESS_PATH } from '../src/readiness';

/** The hub's port when HUB_PORT is unset (env.ts). */
export const HUB_PORT = loadEnv({}).HUB_PORT;

/** Process up (server.ts): liveness probes and the image's HEALTHCHECK. */
export const LIVENESS_PATH = '/healthz';

/** Database, object store and migrations current; 503 while shutting down (readiness.ts): readiness probes. */
export { READINESS_PATH };

/**
 * Where deployments have `edgeloop worker` serve /healthz, /readyz and /metrics (WORKER_HTTP_PORT: unset, a worker
 * serves no HTTP). Beside the hub's port, so a hub and a worker on one host do not collide.
 */
export const WORKER_HTTP_PORT = HUB_PORT + 1;

/** Prometheus' scrape path, on the hub's port and the worker's (metrics-route.ts). */
export const METRICS_PATH = '/metrics';

/** Every variable the hub reads (env.ts). */
export { HUB_ENV_VARIABLES };

/** The CLI's entry, relative to the repository root (and to the image's working directory). */
export const CLI_ENTRY = 'hub/bin/edgeloop.js';

/** The CLI commands the deployment runs: the hub, a training worker, the migration step. */
export const HUB_COMMAND = ['node', CLI_ENTRY, 'serve'] as const;
export const WORKER_COMMAND = ['node', CLI_ENTRY, 'worker'] as const;
export const MIGRATE_COMMAND = ['node', CLI_ENTRY, 'migrate'] as const;

/** Where the image keeps HUB_DATA_DIR (a volume) and where deployments mount the shared signing keys. */
export const DATA_DIR = '/data';
export const SIGNING_KEYS_MOUNT = '/keys';

/**
 * The settings every hub replica and worker of a multi-machine deployment shares: migrations are a step of their
 * own, and the job workers run in their own processes, not in the hubs.
 */
export const REPLICA_ENV: Readonly<Record<string, string>> = {
  HUB_HOST: '0.0.0.0',
  LOG_FORMAT: 'json',
  MIGRATE_ON_START: 'false',
  TRAINING_WORKER: 'false',
  DEMO_PROJECT: 'false',
};
