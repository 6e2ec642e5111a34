/**
 * Training workers (`edgeloop worker`: training runs and reference profiles from the queue in PostgreSQL) and the
 * migration Job (`edgeloop migrate`, once per release, before the hubs roll).
 *
 * Two worker Deployments: CPU (the default image: tfjs wasm/cpu backends) and GPU (the image's `gpu` target, where
 * @tensorflow/tfjs-node-gpu has its native library; training/src/backends/select-backend.ts tries it first), scheduled
 * on GPU nodes with an nvidia.com/gpu limit. Workers do not sign and need no signing keys; each serves /healthz,
 * /readyz (its probes) and /metrics (scraped by Prometheus, annotated on the pod) on WORKER_HTTP_PORT.
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { LIVENESS_PATH, METRICS_PATH, MIGRATE_COMMAND, READINESS_PATH, REPLICA_ENV, WORKER_COMMAND, WORKER_HTTP_PORT } from '../deploy-contract';
import { CONTAINER_SECURITY, type EdgeloopOptions, POD_SECURITY, SCRATCH_MOUNTS, SCRATCH_VOLUMES, SECRET_KEYS, fromSecret, labelsFor, scrapeAnnotations, sharedEnv } from './edgeloop-options';

export const WORKER_NAME = 'edgeloop-worker';
export const GPU_WORKER_NAME = 'edgeloop-worker-gpu';
export const GPU_RESOURCE = 'nvidia.com/gpu';

const PORT_NAME = 'http';

/** A worker gets its grace period for the job step in flight (then hands it back to the queue), and time to close. */
const workerGraceSeconds = (options: EdgeloopOptions) => Math.ceil(options.shutdownGraceMs / 1000) + 10;

function workerPod(options: EdgeloopOptions, gpu: boolean): IPodSpec {
  const sizes = gpu ? options.gpuWorker : options.worker;
  return {
    securityContext: POD_SECURITY,
    terminationGracePeriodSeconds: workerGraceSeconds(options),
    containers: [
      {
        name: 'worker',
        image: gpu ? options.gpuImage : options.image,
        command: WORKER_COMMAND.slice(0, 2),
        args: WORKER_COMMAND.slice(2),
        env: [
          ...sharedEnv(options),
          fromSecret(options.secretName, SECRET_KEYS.metricsToken, true),
          { name: 'HUB_HOST', value: REPLICA_ENV.HUB_HOST! },
          { name: 'WORKER_HTTP_PORT', value: String(WORKER_HTTP_PORT) },
        ],
        ports: [{ name: PORT_NAME, containerPort: WORKER_HTTP_PORT, protocol: 'TCP' }],
        // Not ready while it starts or stops (it takes no jobs then); alive while its process answers (training runs in threads).
        readinessProbe: { httpGet: { path: READINESS_PATH, port: PORT_NAME }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
        livenessProbe: { httpGet: { path: LIVENESS_PATH, port: PORT_NAME }, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 4 },
        startupProbe: { httpGet: { path: LIVENESS_PATH, port: PORT_NAME }, periodSeconds: 2, failureThreshold: 90 },
        resources: {
          requests: { cpu: sizes.cpu, memory: sizes.memory },
          limits: { memory: sizes.memoryLimit, ...(gpu ? { [GPU_RESOURCE]: String(options.gpuWorker.gpus) } : {}) },
        },
        securityContext: CONTAINER_SECURITY,
        volumeMounts: SCRATCH_MOUNTS,
      },
    ],
    volumes: SCRATCH_VOLUMES,
    ...(gpu
      ? { nodeSelector: options.gpuWorker.nodeSelector, tolerations: [{ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' }] }
      : {}),
  };
}

export function workerDeployment(options: EdgeloopOptions, gpu: boolean): IDeployment {
  const labels = labelsFor(gpu ? 'worker-gpu' : 'worker');
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: gpu ? GPU_WORKER_NAME : WORKER_NAME, labels },
    spec: {
      replicas: gpu ? options.gpuWorker.replicas : options.worker.replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels, annotations: scrapeAnnotations(WORKER_HTTP_PORT, METRICS_PATH) }, spec: workerPod(options, gpu) },
    },
  };
}

/** Kubernetes object names: lower-case letters, digits and '-', at most 63 characters. */
const nameSafe = (text: string) => text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'release';

export function migrationJob(options: EdgeloopOptions): IJob {
  const labels = labelsFor('migrate');
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `edgeloop-migrate-${nameSafe(options.release)}`, labels },
    spec: {
      backoffLimit: 3,
      ttlSecondsAfterFinished: 86_400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'OnFailure',
          securityContext: POD_SECURITY,
          containers: [
            {
              name: 'migrate',
              image: options.image,
              command: MIGRATE_COMMAND.slice(0, 2),
              args: MIGRATE_COMMAND.slice(2),
              env: sharedEnv(options),
              resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
              securityContext: CONTAINER_SECURITY,
              volumeMounts: SCRATCH_MOUNTS,
            },
          ],
          volumes: SCRATCH_VOLUMES,
        },
      },
    },
  };
}
