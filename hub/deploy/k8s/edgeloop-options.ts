/**
 * What a Kubernetes deployment of Edgeloop is configured with, and the pod pieces the hub, the workers and the
 * migration Job share: the container's env (secrets by reference), security settings, writable scratch volumes.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { DATA_DIR, REPLICA_ENV, SIGNING_KEYS_MOUNT } from '../deploy-contract';

/**
 * The hub makes HUB_DATA_DIR and SIGNING_KEYS_DIR owner-only (chmod 0700) at start; an emptyDir's root belongs to
 * root, so the pod's user could not. Each is a directory inside its volume, made by the pod's user.
 */
export const POD_DATA_DIR = `${DATA_DIR}/hub`;
export const POD_SIGNING_KEYS_DIR = `${SIGNING_KEYS_MOUNT}/ring`;

export interface EdgeloopOptions {
  namespace: string;
  /** The image built from hub/deploy/Dockerfile (default target), e.g. registry.example.com/edgeloop:1.4.0. */
  image: string;
  /** The same build's `gpu` target, for GPU training workers. */
  gpuImage: string;
  /** Names the migration Job (Jobs are immutable: one per release), e.g. the image tag. */
  release: string;
  /** Where browsers and devices reach the hubs (the Ingress host is taken from it). */
  publicUrl: string;
  /**
   * Served by an S3 in the cluster or outside it; the bucket must exist. `publicEndpoint` (S3_PUBLIC_ENDPOINT): where
   * browsers reach it, when `endpoint` is an address inside the cluster; presigned URLs name it. Its Ingress or proxy
   * must pass the Host header on (presigned URLs are signed for it).
   */
  s3: { endpoint: string; publicEndpoint?: string; bucket: string; region: string; forcePathStyle: boolean };
  /** A CDN in front of the bucket's cdn/ prefix; unset, the hubs serve models at <publicUrl>/cdn. */
  cdnBaseUrl?: string;
  /**
   * The Secret holding DATABASE_URL, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and (optional) METRICS_TOKEN, created
   * outside these manifests (kubectl create secret, an external secrets operator).
   */
  secretName: string;
  /** The Secret holding the signing key ring: keyring.json and <keyId>.pem, as `edgeloop key init` writes them. */
  signingKeysSecretName: string;
  /** On SIGTERM, how long requests and job steps in flight get (SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  hub: { replicas: number; maxReplicas: number; targetCpuPercent: number; cpu: string; memory: string; memoryLimit: string };
  worker: { replicas: number; cpu: string; memory: string; memoryLimit: string };
  gpuWorker: { replicas: number; gpus: number; cpu: string; memory: string; memoryLimit: string; nodeSelector: Record<string, string> };
  ingressClassName?: string;
}

export const DEFAULT_OPTIONS: EdgeloopOptions = {
  namespace: 'edgeloop',
  image: 'edgeloop:latest',
  gpuImage: 'edgeloop:gpu',
  release: 'latest',
  publicUrl: 'https://edgeloop.example.com',
  s3: { endpoint: 'http://minio.edgeloop.svc:9000', bucket: 'edgeloop', region: 'us-east-1', forcePathStyle: true },
  secretName: 'edgeloop',
  signingKeysSecretName: 'edgeloop-signing-keys',
  shutdownGraceMs: 20_000,
  hub: { replicas: 2, maxReplicas: 6, targetCpuPercent: 70, cpu: '500m', memory: '768Mi', memoryLimit: '2Gi' },
  worker: { replicas: 1, cpu: '2', memory: '3Gi', memoryLimit: '6Gi' },
  gpuWorker: { replicas: 0, gpus: 1, cpu: '2', memory: '6Gi', memoryLimit: '12Gi', nodeSelector: { 'nvidia.com/gpu.present': 'true' } },
};

/** The Secret's keys, each read into the variable of the same name. */
export const SECRET_KEYS = { database: 'DATABASE_URL', s3AccessKey: 'S3_ACCESS_KEY_ID', s3SecretKey: 'S3_SECRET_ACCESS_KEY', metricsToken: 'METRICS_TOKEN' } as const;

const fromSecret = (secretName: string, key: string, optional = false): IEnvVar => ({
  name: key,
  valueFrom: { secretKeyRef: { name: secretName, key, ...(optional ? { optional: true } : {}) } },
});

/** Env of every Edgeloop container: the database and store (secrets by reference), migrations as their own step. */
export function sharedEnv(options: EdgeloopOptions): IEnvVar[] {
  return [
    fromSecret(options.secretName, SECRET_KEYS.database),
    fromSecret(options.secretName, SECRET_KEYS.s3AccessKey),
    fromSecret(options.secretName, SECRET_KEYS.s3SecretKey),
    { name: 'S3_ENDPOINT', value: options.s3.endpoint },
    { name: 'S3_BUCKET', value: options.s3.bucket },
    { name: 'S3_REGION', value: options.s3.region },
    { name: 'S3_FORCE_PATH_STYLE', value: String(options.s3.forcePathStyle) },
    { name: 'HUB_DATA_DIR', value: POD_DATA_DIR },
    { name: 'LOG_FORMAT', value: REPLICA_ENV.LOG_FORMAT! },
    { name: 'MIGRATE_ON_START', value: REPLICA_ENV.MIGRATE_ON_START! },
    { name: 'SHUTDOWN_GRACE_MS', value: String(options.shutdownGraceMs) },
  ];
}

export { fromSecret };

/** The image's user (node, uid 1000): never root, no privilege escalation; volumes group-owned by it. */
export const POD_SECURITY: IPodSecurityContext = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } };
export const CONTAINER_SECURITY: NonNullable<IContainer['securityContext']> = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/** Writable places on a read-only root: HUB_DATA_DIR's volume (caches, the bootstrap admin token) and /tmp (tsx's cache). */
export const SCRATCH_VOLUMES: IVolume[] = [
  { name: 'data', emptyDir: {} },
  { name: 'tmp', emptyDir: {} },
];
export const SCRATCH_MOUNTS: IVolumeMount[] = [
  { name: 'data', mountPath: DATA_DIR },
  { name: 'tmp', mountPath: '/tmp' },
];

export const labelsFor = (component: string): Record<string, string> => ({ 'app.kubernetes.io/name': 'edgeloop', 'app.kubernetes.io/component': component });

/** The conventional annotations Prometheus' Kubernetes service discovery is configured to follow. */
export const scrapeAnnotations = (port: number, path: string): Record<string, string> => ({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': path });
