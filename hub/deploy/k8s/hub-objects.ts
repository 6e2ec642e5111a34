/**
 * The hub: a Deployment of stateless replicas (readiness /readyz, liveness /healthz), its Service, Ingress,
 * PodDisruptionBudget and HorizontalPodAutoscaler.
 *
 * Signing keys: the hub writes its keys directory (the ring file, new keys at rotation), so a Secret cannot be that
 * directory itself (Secret volumes are read-only). The Secret is mounted read-only beside it, and an init container
 * copies its files, owner-only, into SIGNING_KEYS_DIR on an in-memory volume: every replica holds the same keys.
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IService } from 'kubernetes-models/v1/Service';
import { HUB_COMMAND, HUB_PORT, LIVENESS_PATH, METRICS_PATH, READINESS_PATH, REPLICA_ENV, SIGNING_KEYS_MOUNT } from '../deploy-contract';
import { CONTAINER_SECURITY, type EdgeloopOptions, POD_SECURITY, POD_SIGNING_KEYS_DIR, SCRATCH_MOUNTS, SCRATCH_VOLUMES, SECRET_KEYS, fromSecret, labelsFor, scrapeAnnotations, sharedEnv } from './edgeloop-options';

export const HUB_NAME = 'edgeloop-hub';
const PORT_NAME = 'http';
const KEYS_SECRET_MOUNT = '/keys-secret';
/** Endpoints leave Services and ingress controllers a few seconds after a pod starts terminating: keep serving meanwhile. */
export const PRE_STOP_SECONDS = 5;

/** The pod's whole allowance: the pre-stop pause, the hub's grace period, and time to close its pools. */
export const terminationGraceSeconds = (options: EdgeloopOptions): number => PRE_STOP_SECONDS + Math.ceil(options.shutdownGraceMs / 1000) + 10;

export function hubEnv(options: EdgeloopOptions) {
  return [
    ...sharedEnv(options),
    fromSecret(options.secretName, SECRET_KEYS.metricsToken, true),
    { name: 'HUB_HOST', value: REPLICA_ENV.HUB_HOST! },
    { name: 'HUB_PORT', value: String(HUB_PORT) },
    { name: 'HUB_PUBLIC_URL', value: options.publicUrl },
    ...(options.cdnBaseUrl ? [{ name: 'CDN_BASE_URL', value: options.cdnBaseUrl }] : []),
    ...(options.s3.publicEndpoint ? [{ name: 'S3_PUBLIC_ENDPOINT', value: options.s3.publicEndpoint }] : []),
    { name: 'SIGNING_KEYS_DIR', value: POD_SIGNING_KEYS_DIR },
    { name: 'TRAINING_WORKER', value: REPLICA_ENV.TRAINING_WORKER! },
    { name: 'DEMO_PROJECT', value: REPLICA_ENV.DEMO_PROJECT! },
  ];
}

export function hubDeployment(options: EdgeloopOptions): IDeployment {
  const labels = labelsFor('hub');
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: HUB_NAME, labels },
    // No replicas: the autoscaler owns the count (between hub.replicas and hub.maxReplicas), and a count here would be
    // reset by every `kubectl apply` of this file.
    spec: {
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels, annotations: scrapeAnnotations(HUB_PORT, METRICS_PATH) },
        spec: {
          securityContext: POD_SECURITY,
          terminationGracePeriodSeconds: terminationGraceSeconds(options),
          initContainers: [
            {
              name: 'signing-keys',
              image: options.image,
              command: ['sh', '-c', `mkdir -m 700 ${POD_SIGNING_KEYS_DIR} && cp -L ${KEYS_SECRET_MOUNT}/keyring.json ${KEYS_SECRET_MOUNT}/*.pem ${POD_SIGNING_KEYS_DIR}/ && chmod 600 ${POD_SIGNING_KEYS_DIR}/*`],
              securityContext: CONTAINER_SECURITY,
              volumeMounts: [
                { name: 'signing-keys-secret', mountPath: KEYS_SECRET_MOUNT, readOnly: true },
                { name: 'signing-keys', mountPath: SIGNING_KEYS_MOUNT },
              ],
              resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
            },
          ],
          containers: [
            {
              name: 'hub',
              image: options.image,
              command: HUB_COMMAND.slice(0, 2),
              args: HUB_COMMAND.slice(2),
              ports: [{ name: PORT_NAME, containerPort: HUB_PORT, protocol: 'TCP' }],
              env: hubEnv(options),
              readinessProbe: { httpGet: { path: READINESS_PATH, port: PORT_NAME }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
              livenessProbe: { httpGet: { path: LIVENESS_PATH, port: PORT_NAME }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
              startupProbe: { httpGet: { path: LIVENESS_PATH, port: PORT_NAME }, periodSeconds: 2, failureThreshold: 60 },
              lifecycle: { preStop: { exec: { command: ['sleep', String(PRE_STOP_SECONDS)] } } },
              resources: { requests: { cpu: options.hub.cpu, memory: options.hub.memory }, limits: { memory: options.hub.memoryLimit } },
              securityContext: CONTAINER_SECURITY,
              volumeMounts: [...SCRATCH_MOUNTS, { name: 'signing-keys', mountPath: SIGNING_KEYS_MOUNT }],
            },
          ],
          volumes: [
            ...SCRATCH_VOLUMES,
            { name: 'signing-keys', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
            // Readable by the pod's group (fsGroup) only; the copies the hub uses are owner-only.
            { name: 'signing-keys-secret', secret: { secretName: options.signingKeysSecretName, defaultMode: 0o440 } },
          ],
        },
      },
    },
  };
}

export function hubService(): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: HUB_NAME, labels: labelsFor('hub') },
    spec: { type: 'ClusterIP', selector: labelsFor('hub'), ports: [{ name: PORT_NAME, port: 80, targetPort: PORT_NAME, protocol: 'TCP' }] },
  };
}

export function hubIngress(options: EdgeloopOptions): IIngress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: HUB_NAME, labels: labelsFor('hub') },
    spec: {
      ...(options.ingressClassName ? { ingressClassName: options.ingressClassName } : {}),
      rules: [
        {
          host: new URL(options.publicUrl).hostname,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: HUB_NAME, port: { name: PORT_NAME } } } }] },
        },
      ],
    },
  };
}

/** Voluntary disruptions (node drains, upgrades) leave at least one hub serving. */
export function hubDisruptionBudget(): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: HUB_NAME, labels: labelsFor('hub') },
    spec: { minAvailable: 1, selector: { matchLabels: labelsFor('hub') } },
  };
}

/** More hubs under load (sync traffic is CPU-bound in the hub), never fewer than hub.replicas. */
export function hubAutoscaler(options: EdgeloopOptions): IHorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: HUB_NAME, labels: labelsFor('hub') },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: HUB_NAME },
      minReplicas: options.hub.replicas,
      maxReplicas: options.hub.maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: options.hub.targetCpuPercent } } }],
    },
  };
}
