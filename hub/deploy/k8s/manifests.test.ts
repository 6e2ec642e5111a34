/**
 * The synthesized manifests: each object validated against the Kubernetes schemas (kubernetes-models), and what they
 * say about the hub checked against the hub itself: its env module, its probe paths and port, its CLI commands.
 * (probes.test.ts checks those against a running hub and the real CLI.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { type IJob, Job } from 'kubernetes-models/batch/v1/Job';
import { type IIngress, Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { type IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { type IService, Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { loadEnv } from '../../src/env';
import { HUB_COMMAND, HUB_ENV_VARIABLES, HUB_PORT, LIVENESS_PATH, METRICS_PATH, MIGRATE_COMMAND, READINESS_PATH, WORKER_COMMAND, WORKER_HTTP_PORT } from '../deploy-contract';
import { synth } from './edgeloop-chart';
import { DEFAULT_OPTIONS } from './edgeloop-options';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A model class for every kind the chart makes: constructing one and calling validate() checks it against its schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'v1/Service': Service,
  'networking.k8s.io/v1/Ingress': Ingress,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };
const manifests = synth() as Manifest[];
const find = <T>(kind: string, name: string) => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  return found as unknown as T;
};
const hub = find<IDeployment>('Deployment', 'edgeloop-hub');
const worker = find<IDeployment>('Deployment', 'edgeloop-worker');
const gpuWorker = find<IDeployment>('Deployment', 'edgeloop-worker-gpu');
const migrate = manifests.find((m) => m.kind === 'Job') as unknown as IJob;
const pods: [string, IPodSpec][] = [
  ['hub', hub.spec!.template.spec!],
  ['worker', worker.spec!.template.spec!],
  ['worker-gpu', gpuWorker.spec!.template.spec!],
  ['migrate', migrate.spec!.template.spec!],
];
const main = (pod: IPodSpec) => pod.containers[0]!;

/** A container's env as the hub would see it, with each Secret reference given a sample value of the right shape. */
const SAMPLE_SECRETS: Record<string, string> = {
  DATABASE_URL: 'postgres://edgeloop:pw@postgres.example:5432/edgeloop',
  S3_ACCESS_KEY_ID: 'access',
  S3_SECRET_ACCESS_KEY: 'secret',
  METRICS_TOKEN: 'a-metrics-token-of-16+-chars',
};
const resolvedEnv = (container: IContainer) =>
  Object.fromEntries((container.env ?? []).map((v) => [v.name, v.value ?? SAMPLE_SECRETS[v.valueFrom!.secretKeyRef!.key]]));

describe('Kubernetes manifests (hub/deploy/k8s)', () => {
  it('validates every object against the Kubernetes schemas', () => {
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(
      [
        'Deployment/edgeloop-hub',
        'Deployment/edgeloop-worker',
        'Deployment/edgeloop-worker-gpu',
        'HorizontalPodAutoscaler/edgeloop-hub',
        'Ingress/edgeloop-hub',
        `Job/edgeloop-migrate-${DEFAULT_OPTIONS.release}`,
        'PodDisruptionBudget/edgeloop-hub',
        'Service/edgeloop-hub',
      ].sort(),
    );
    for (const manifest of manifests) {
      const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
      expect(Model, `${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
      expect(() => new Model!(manifest as never).validate(), `${manifest.kind}/${manifest.metadata.name}`).not.toThrow();
      expect(manifest.metadata.namespace).toBe(DEFAULT_OPTIONS.namespace);
    }
    // The validation is live: the same Deployment with a port given as text is refused.
    const broken = structuredClone(hub);
    (main(broken.spec!.template.spec!).ports![0] as { containerPort: unknown }).containerPort = 'http';
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort/);
  });

  it('sets only variables the hub reads, with values it accepts, and migrations run only in the Job', () => {
    for (const [name, pod] of pods) {
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const names = (container.env ?? []).map((v) => v.name);
        expect(names.filter((n) => !HUB_ENV_VARIABLES.includes(n)), `${name}/${container.name}`).toEqual([]);
      }
      const env = loadEnv(resolvedEnv(main(pod)));
      expect(env.MIGRATE_ON_START, name).toBe(false);
      expect(env.DATABASE_URL, name).toBe(SAMPLE_SECRETS.DATABASE_URL);
      expect(env.S3_ENDPOINT, name).toBe(DEFAULT_OPTIONS.s3.endpoint);
    }
  });

  it('reads the database URL, the S3 keys and the metrics token from the Secret by reference, never as values', () => {
    const secretNames = ['DATABASE_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];
    for (const [name, pod] of pods) {
      const env = main(pod).env ?? [];
      const expected = name === 'migrate' ? secretNames : [...secretNames, 'METRICS_TOKEN'];
      for (const key of expected) {
        const entry = env.find((v) => v.name === key);
        expect(entry?.value, `${name} ${key}`).toBeUndefined();
        expect(entry?.valueFrom?.secretKeyRef, `${name} ${key}`).toEqual(expect.objectContaining({ name: DEFAULT_OPTIONS.secretName, key }));
      }
    }
    // METRICS_TOKEN may be left out of the Secret: /metrics then answers loopback callers only.
    for (const [name, pod] of pods.slice(0, 3)) expect(main(pod).env!.find((v) => v.name === 'METRICS_TOKEN')!.valueFrom!.secretKeyRef!.optional, name).toBe(true);
  });

  it('runs the CLI commands the hub has: serve in the hubs, worker in the workers, migrate in the Job', () => {
    const runs = (c: IContainer) => [...(c.command ?? []), ...(c.args ?? [])];
    expect(runs(main(hub.spec!.template.spec!))).toEqual([...HUB_COMMAND]);
    expect(runs(main(worker.spec!.template.spec!))).toEqual([...WORKER_COMMAND]);
    expect(runs(main(gpuWorker.spec!.template.spec!))).toEqual([...WORKER_COMMAND]);
    expect(runs(main(migrate.spec!.template.spec!))).toEqual([...MIGRATE_COMMAND]);
    expect(fs.existsSync(path.join(root, HUB_COMMAND[1]))).toBe(true);
  });

  it('probes and scrapes the hub at its readiness, liveness and metrics paths on the port it listens on', () => {
    const pod = hub.spec!.template.spec!;
    const container = main(pod);
    const env = loadEnv(resolvedEnv(container));
    expect(env.HUB_PORT).toBe(HUB_PORT);
    expect(env.HUB_HOST).toBe('0.0.0.0');
    const portOf = (port: number | string) => (typeof port === 'number' ? port : container.ports!.find((p) => p.name === port)?.containerPort);
    expect(container.ports!.map((p) => p.containerPort)).toEqual([env.HUB_PORT]);
    expect(container.readinessProbe!.httpGet!.path).toBe(READINESS_PATH);
    expect(container.livenessProbe!.httpGet!.path).toBe(LIVENESS_PATH);
    for (const probe of [container.readinessProbe!, container.livenessProbe!, container.startupProbe!]) {
      expect(portOf(probe.httpGet!.port)).toBe(env.HUB_PORT);
    }
    const annotations = hub.spec!.template.metadata!.annotations!;
    expect([annotations['prometheus.io/scrape'], Number(annotations['prometheus.io/port']), annotations['prometheus.io/path']]).toEqual(['true', env.HUB_PORT, METRICS_PATH]);
    expect(hub.spec!.replicas, 'the autoscaler owns the count').toBeUndefined();
    expect(container.resources!.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    expect(container.resources!.limits!.memory).toBeDefined();
  });

  it('probes each worker at its readiness and liveness paths on WORKER_HTTP_PORT, where Prometheus is told to scrape /metrics', () => {
    for (const d of [worker, gpuWorker]) {
      const name = d.metadata!.name!;
      const container = main(d.spec!.template.spec!);
      const env = loadEnv(resolvedEnv(container));
      expect(env.WORKER_HTTP_PORT, name).toBe(WORKER_HTTP_PORT);
      expect(env.HUB_HOST, name).toBe('0.0.0.0');
      expect(container.ports!.map((p) => p.containerPort), name).toEqual([env.WORKER_HTTP_PORT]);
      const portOf = (port: number | string) => (typeof port === 'number' ? port : container.ports!.find((p) => p.name === port)?.containerPort);
      expect(container.readinessProbe!.httpGet!.path, name).toBe(READINESS_PATH);
      expect(container.livenessProbe!.httpGet!.path, name).toBe(LIVENESS_PATH);
      for (const probe of [container.readinessProbe!, container.livenessProbe!, container.startupProbe!]) expect(portOf(probe.httpGet!.port), name).toBe(env.WORKER_HTTP_PORT);
      const annotations = d.spec!.template.metadata!.annotations!;
      expect(annotations['prometheus.io/scrape'], name).toBe('true');
      expect(Number(annotations['prometheus.io/port']), name).toBe(env.WORKER_HTTP_PORT);
      expect(annotations['prometheus.io/path'], name).toBe(METRICS_PATH);
    }
    // The migration Job serves nothing.
    expect(loadEnv(resolvedEnv(main(migrate.spec!.template.spec!))).WORKER_HTTP_PORT).toBeUndefined();
  });

  it('gives a hub pod longer to stop than the pre-stop pause plus its SHUTDOWN_GRACE_MS, and workers their grace period', () => {
    const container = main(hub.spec!.template.spec!);
    const preStop = Number(container.lifecycle!.preStop!.exec!.command!.at(-1));
    const grace = loadEnv(resolvedEnv(container)).SHUTDOWN_GRACE_MS / 1000;
    expect(hub.spec!.template.spec!.terminationGracePeriodSeconds).toBeGreaterThan(preStop + grace);
    for (const d of [worker, gpuWorker]) {
      const workerGrace = loadEnv(resolvedEnv(main(d.spec!.template.spec!))).SHUTDOWN_GRACE_MS / 1000;
      expect(d.spec!.template.spec!.terminationGracePeriodSeconds).toBeGreaterThan(workerGrace);
    }
  });

  it('gives every hub the signing keys of the Secret in a writable SIGNING_KEYS_DIR, and workers no keys', () => {
    const pod = hub.spec!.template.spec!;
    const keysDir = loadEnv(resolvedEnv(main(pod))).keysDir;
    // The hub chmods its keys directory 0700: it must be one the pod's user made, inside a writable volume.
    const mount = main(pod).volumeMounts!.find((m) => path.dirname(keysDir) === m.mountPath);
    expect(mount, 'a volume holding SIGNING_KEYS_DIR').toBeDefined();
    expect(mount!.readOnly).not.toBe(true);
    expect(pod.volumes!.find((v) => v.name === mount!.name)!.emptyDir).toBeDefined();
    const secretVolume = pod.volumes!.find((v) => v.secret?.secretName === DEFAULT_OPTIONS.signingKeysSecretName);
    expect(secretVolume).toBeDefined();
    // The init container makes that directory and copies the Secret's files into it before the hub starts.
    const init = pod.initContainers!.find((c) => c.volumeMounts!.some((m) => m.name === secretVolume!.name))!;
    const from = init.volumeMounts!.find((m) => m.name === secretVolume!.name)!.mountPath;
    expect(init.volumeMounts!.find((m) => m.name === mount!.name)!.mountPath).toBe(mount!.mountPath);
    expect(init.command!.join(' ')).toContain(`mkdir -m 700 ${keysDir} && cp -L ${from}/keyring.json ${from}/*.pem ${keysDir}/`);
    for (const [name, p] of pods.slice(1)) {
      expect(main(p).env!.some((v) => v.name === 'SIGNING_KEYS_DIR'), name).toBe(false);
      expect(p.volumes!.some((v) => v.secret), name).toBe(false);
    }
  });

  it('runs every pod as the image\'s non-root user, with a data directory it can make owner-only', () => {
    for (const [name, pod] of pods) {
      const dataDir = loadEnv(resolvedEnv(main(pod))).dataDir;
      const volume = main(pod).volumeMounts!.find((m) => path.dirname(dataDir) === m.mountPath);
      expect(pod.volumes!.find((v) => v.name === volume?.name)?.emptyDir, name).toBeDefined();
      expect(pod.securityContext!.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext!.runAsUser, name).not.toBe(0);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) expect(c.securityContext!.allowPrivilegeEscalation, `${name}/${c.name}`).toBe(false);
    }
  });

  it('routes the Ingress to the Service and the Service to the hub\'s port; the budget and the autoscaler cover the hubs', () => {
    const service = find<IService>('Service', 'edgeloop-hub');
    const ingress = find<IIngress>('Ingress', 'edgeloop-hub');
    const pdb = find<IPodDisruptionBudget>('PodDisruptionBudget', 'edgeloop-hub');
    const hpa = find<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler', 'edgeloop-hub');
    const podLabels = hub.spec!.template.metadata!.labels!;
    const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    expect(matches(service.spec!.selector!)).toBe(true);
    expect(matches(pdb.spec!.selector!.matchLabels!)).toBe(true);
    expect(matches(hub.spec!.selector.matchLabels!)).toBe(true);
    // The worker pods must not be picked up by the hub's Service.
    expect(Object.entries(service.spec!.selector!).every(([k, v]) => worker.spec!.template.metadata!.labels![k] === v)).toBe(false);
    const servicePort = service.spec!.ports![0]!;
    expect(main(hub.spec!.template.spec!).ports!.find((p) => p.name === servicePort.targetPort)?.containerPort).toBe(HUB_PORT);
    const backend = ingress.spec!.rules![0]!.http!.paths[0]!.backend.service!;
    expect(backend.name).toBe(service.metadata!.name);
    expect(backend.port!.name).toBe(servicePort.name);
    expect(ingress.spec!.rules![0]!.host).toBe(new URL(DEFAULT_OPTIONS.publicUrl).hostname);
    expect(pdb.spec!.minAvailable).toBeLessThan(hpa.spec!.minReplicas!);
    expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: hub.apiVersion, kind: hub.kind, name: hub.metadata!.name });
    expect(hpa.spec!.minReplicas).toBe(DEFAULT_OPTIONS.hub.replicas);
    expect(hpa.spec!.maxReplicas).toBeGreaterThan(hpa.spec!.minReplicas!);
  });

  it('runs the GPU worker on GPU nodes with the image that has tfjs-node-gpu, which training picks first', () => {
    const pod = gpuWorker.spec!.template.spec!;
    expect(main(pod).image).toBe(DEFAULT_OPTIONS.gpuImage);
    expect(main(pod).resources!.limits!['nvidia.com/gpu']).toBe(String(DEFAULT_OPTIONS.gpuWorker.gpus));
    expect(pod.nodeSelector).toEqual(DEFAULT_OPTIONS.gpuWorker.nodeSelector);
    expect(pod.tolerations).toContainEqual(expect.objectContaining({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }));
    expect(main(worker.spec!.template.spec!).resources!.limits!['nvidia.com/gpu']).toBeUndefined();
    const training = JSON.parse(fs.readFileSync(path.join(root, 'training/package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
    expect(training.optionalDependencies).toHaveProperty('@tensorflow/tfjs-node-gpu');
    const selection = fs.readFileSync(path.join(root, 'training/src/backends/select-backend.ts'), 'utf8');
    expect(selection).toMatch(/\['@tensorflow\/tfjs-node-gpu', '@tensorflow\/tfjs-node'\]/);
    expect(fs.readFileSync(path.join(root, 'hub/deploy/Dockerfile'), 'utf8')).toContain('npm rebuild @tensorflow/tfjs-node-gpu');
  });

  it('gives the hubs the object store\'s public address for presigned URLs, when the options name one; workers never', () => {
    expect(loadEnv(resolvedEnv(main(hub.spec!.template.spec!))).S3_PUBLIC_ENDPOINT).toBeUndefined();
    const custom = synth({ s3: { publicEndpoint: 'https://s3.example.org' } }) as Manifest[];
    const deployments = custom.filter((m) => m.kind === 'Deployment') as unknown as IDeployment[];
    for (const d of deployments) {
      const env = loadEnv(resolvedEnv(main(d.spec!.template.spec!)));
      expect(env.S3_PUBLIC_ENDPOINT, d.metadata!.name).toBe(d.metadata!.name === 'edgeloop-hub' ? 'https://s3.example.org' : undefined);
      expect(env.S3_ENDPOINT, d.metadata!.name).toBe(DEFAULT_OPTIONS.s3.endpoint); // the group's other fields kept
    }
  });

  it('takes its image, release, address and sizes from the options', () => {
    const custom = synth({ image: 'registry.example.com/edgeloop:1.4.0', release: '1.4.0', publicUrl: 'https://ml.example.org', namespace: 'ml' }) as Manifest[];
    const job = custom.find((m) => m.kind === 'Job') as unknown as IJob;
    expect(job.metadata!.name).toBe('edgeloop-migrate-1-4-0');
    expect(main(job.spec!.template.spec!).image).toBe('registry.example.com/edgeloop:1.4.0');
    const ingress = custom.find((m) => m.kind === 'Ingress') as unknown as IIngress;
    expect(ingress.spec!.rules![0]!.host).toBe('ml.example.org');
    expect(custom.every((m) => m.metadata.namespace === 'ml')).toBe(true);
    const sized = synth({ hub: { replicas: 3, maxReplicas: 9 } }) as Manifest[];
    const hpa = sized.find((m) => m.kind === 'HorizontalPodAutoscaler') as unknown as IHorizontalPodAutoscaler;
    expect([hpa.spec!.minReplicas, hpa.spec!.maxReplicas]).toEqual([3, 9]);
    const sizedHub = sized.find((m) => m.kind === 'Deployment' && m.metadata.name === 'edgeloop-hub') as unknown as IDeployment;
    expect(main(sizedHub.spec!.template.spec!).resources!.requests).toEqual({ cpu: DEFAULT_OPTIONS.hub.cpu, memory: DEFAULT_OPTIONS.hub.memory });
  });
});
