/**
 * Edgeloop on Kubernetes as a cdk8s chart, and `synth`: the manifests as plain objects (kubectl apply -f reads them
 * as YAML: `npm run -w hub k8s:synth > edgeloop.yaml`).
 */
import { ApiObject, App, Chart, Yaml } from 'cdk8s';
import type { Construct } from 'constructs';
import { DEFAULT_OPTIONS, type EdgeloopOptions } from './edgeloop-options';
import { hubAutoscaler, hubDeployment, hubDisruptionBudget, hubIngress, hubService } from './hub-objects';
import { migrationJob, workerDeployment } from './worker-objects';

/** Any Kubernetes object as the kubernetes-models interfaces type it. */
interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; labels?: Record<string, string> };
}

export class EdgeloopChart extends Chart {
  constructor(scope: Construct, id: string, options: EdgeloopOptions) {
    super(scope, id, { namespace: options.namespace, disableResourceNameHashes: true });
    const objects: KubernetesObject[] = [
      migrationJob(options),
      hubDeployment(options),
      hubService(),
      hubIngress(options),
      hubDisruptionBudget(),
      hubAutoscaler(options),
      workerDeployment(options, false),
      workerDeployment(options, true),
    ];
    for (const object of objects) {
      const { metadata, ...rest } = object;
      new ApiObject(this, `${object.kind}-${metadata?.name ?? ''}`, { ...rest, metadata: { ...metadata } });
    }
  }
}

/** Overrides of DEFAULT_OPTIONS: a group (`hub`, `s3`, ...) may name only the fields it changes. */
export type EdgeloopOverrides = { [K in keyof EdgeloopOptions]?: EdgeloopOptions[K] extends object ? Partial<EdgeloopOptions[K]> : EdgeloopOptions[K] };

/** DEFAULT_OPTIONS with `overrides` applied, groups field by field ({"hub":{"replicas":3}} keeps the hub's other fields). */
export function optionsWith(overrides: EdgeloopOverrides): EdgeloopOptions {
  const options: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  for (const [key, value] of Object.entries(overrides)) {
    const base = options[key];
    const isGroup = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    options[key] = isGroup(base) && isGroup(value) ? { ...(base as object), ...(value as object) } : value;
  }
  return options as unknown as EdgeloopOptions;
}

/** The manifests for `overrides` of DEFAULT_OPTIONS, in apply order: the migration Job first. */
export function synth(overrides: EdgeloopOverrides = {}): Record<string, unknown>[] {
  const app = new App();
  const chart = new EdgeloopChart(app, 'edgeloop', optionsWith(overrides));
  return chart.toJson() as Record<string, unknown>[];
}

/** The same as multi-document YAML. */
export function synthYaml(overrides: EdgeloopOverrides = {}): string {
  return Yaml.stringify(...synth(overrides));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // The one argument: a JSON object overriding DEFAULT_OPTIONS, e.g. '{"image":"registry.example.com/edgeloop:1.4.0"}'.
  const overrides = JSON.parse(process.argv[2] ?? '{}') as EdgeloopOverrides;
  process.stdout.write(synthYaml(overrides));
}
