import path from 'node:path';
import { z } from 'zod';
import { LOG_FORMATS } from './logger';

// The AWS SDK warns on Node 20 that its releases from 2027 need Node 22; package-lock.json pins this
// release, so the warning only adds noise to every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * The hub's one view of process.env, validated at start. Nothing else reads process.env.
 * Unset values fall back to the embedded defaults: PGlite and an S3 server in-process.
 */
const envSchema = z
  .object({
    HUB_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
    HUB_HOST: z.string().default('127.0.0.1'),
    HUB_DATA_DIR: z.string().default('./.edgeloop'),
    /**
     * Where the model signing keys live (default <HUB_DATA_DIR>/keys). Every hub process that shares a database must
     * use the same directory (or a copy kept in step); training workers do not sign and do not need it.
     */
    SIGNING_KEYS_DIR: z.string().min(1, 'SIGNING_KEYS_DIR must be a directory path').optional(),
    HUB_PUBLIC_URL: z.url('HUB_PUBLIC_URL must be a URL such as http://localhost:8787').optional(),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres:// or postgresql://')
      .optional(),
    S3_ENDPOINT: z.url('S3_ENDPOINT must be a URL such as https://s3.eu-west-1.amazonaws.com').optional(),
    S3_REGION: z.string().default('us-east-1'),
    S3_BUCKET: z.string().default('edgeloop'),
    S3_ACCESS_KEY_ID: z.string().optional(),
    S3_SECRET_ACCESS_KEY: z.string().optional(),
    S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
    /**
     * Where browsers and devices reach the object store, when not at S3_ENDPOINT (an address inside compose or a
     * cluster, such as http://minio:9000): presigned URLs handed to clients name it; the hub's own calls keep S3_ENDPOINT.
     * Requests to it must reach the store with this Host header (SigV4 signs it): a proxy in between passes Host on.
     */
    S3_PUBLIC_ENDPOINT: z
      .url({ protocol: /^https?$/, error: 'S3_PUBLIC_ENDPOINT must be an http(s) URL browsers reach the object store at, such as https://s3.example.com' })
      .optional(),
    CDN_BASE_URL: z.url('CDN_BASE_URL must be a URL such as https://cdn.example.com/edgeloop (serving the bucket\'s cdn/ prefix)').optional(),
    EMBEDDED_S3_PORT: z.coerce.number().int().min(0).max(65535).default(0),
    DEMO_PROJECT: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
    FASHION_MNIST_DIR: z.string().default('/usr/share/datasets/fashion-mnist'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    /** json: one JSON object a line (for log collectors); pretty: readable lines. Unset: pretty on a terminal, else json. */
    LOG_FORMAT: z.enum(LOG_FORMATS, { error: `LOG_FORMAT must be one of: ${LOG_FORMATS.join(', ')}` }).optional(),
    /**
     * `edgeloop worker` serves /healthz, /readyz and /metrics on this port (at HUB_HOST), for probes and Prometheus;
     * unset, it serves no HTTP (several workers may then share a machine). 0 picks a free port, logged at start.
     */
    // Blank (`WORKER_HTTP_PORT=` in an env file, compose's `${X:-}`) is unset, not port 0.
    WORKER_HTTP_PORT: z.preprocess(
      (value) => (value === '' ? undefined : value),
      z.coerce
        .number('WORKER_HTTP_PORT must be a port number from 0 to 65535 (or unset: the worker serves no HTTP)')
        .int('WORKER_HTTP_PORT must be a port number from 0 to 65535 (or unset: the worker serves no HTTP)')
        .min(0, 'WORKER_HTTP_PORT must be a port number from 0 to 65535 (or unset: the worker serves no HTTP)')
        .max(65535, 'WORKER_HTTP_PORT must be a port number from 0 to 65535 (or unset: the worker serves no HTTP)')
        .optional(),
    ),
    /** When set, GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, only loopback callers. */
    METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters (or unset: /metrics then answers loopback callers only)').optional(),
    /** Run a training worker inside `npm start` (the embedded setup); set false where separate workers run. */
    TRAINING_WORKER: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
    /** Run the monitor worker (monitor.update jobs) inside `npm start`; set false where separate workers run. */
    MONITOR_WORKER: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
    /** Run the pipeline worker (pipeline steps, the triggers every minute) inside `npm start`; set false where separate workers run. */
    PIPELINE_WORKER: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
    /**
     * Apply pending migrations when the hub or a worker starts (the embedded default). Set false where
     * `edgeloop migrate` runs them as its own step (a deploy job): /readyz then answers 503 while any is pending, and
     * pg-boss opens without touching its schema (which `edgeloop migrate` installs and upgrades).
     */
    MIGRATE_ON_START: z.enum(['true', 'false'], 'MIGRATE_ON_START must be true or false').default('true').transform((v) => v === 'true'),
    /** How long a SIGTERM/SIGINT waits for requests and job steps in flight before closing what is left. */
    SHUTDOWN_GRACE_MS: z.coerce
      .number('SHUTDOWN_GRACE_MS must be a whole number of milliseconds from 0 to 600000')
      .int('SHUTDOWN_GRACE_MS must be a whole number of milliseconds from 0 to 600000')
      .min(0, 'SHUTDOWN_GRACE_MS must be a whole number of milliseconds from 0 to 600000')
      .max(600_000, 'SHUTDOWN_GRACE_MS must be a whole number of milliseconds from 0 to 600000')
      .default(10_000),
    /**
     * How long a running training run may go without a heartbeat (one every 5 s) before a worker presumes its worker
     * lost and hands its job back to the queue. At least three heartbeats, so a busy worker is not taken for a lost one.
     */
    TRAINING_STALE_AFTER_MS: z.coerce
      .number('TRAINING_STALE_AFTER_MS must be a whole number of milliseconds from 15000 (three heartbeats) to 3600000')
      .int('TRAINING_STALE_AFTER_MS must be a whole number of milliseconds from 15000 (three heartbeats) to 3600000')
      .min(15_000, 'TRAINING_STALE_AFTER_MS must be a whole number of milliseconds from 15000 (three heartbeats) to 3600000')
      .max(3_600_000, 'TRAINING_STALE_AFTER_MS must be a whole number of milliseconds from 15000 (three heartbeats) to 3600000')
      .default(30_000),
    /** For CLI commands that talk to a running hub (train, publish, promote, rollback). */
    EDGELOOP_HUB_URL: z.url('EDGELOOP_HUB_URL must be a URL such as http://127.0.0.1:8787').default('http://127.0.0.1:8787'),
    EDGELOOP_TOKEN: z.string().optional(),
    CI: z.string().optional().transform((v) => v === 'true' || v === '1'),
  })
  .refine((env) => !env.S3_ENDPOINT || (env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY), {
    message: 'S3_ENDPOINT needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY',
    path: ['S3_ENDPOINT'],
  })
  .refine((env) => !env.S3_PUBLIC_ENDPOINT || env.S3_ENDPOINT, {
    message: 'S3_PUBLIC_ENDPOINT needs S3_ENDPOINT (the embedded store\'s presigned URLs name HUB_PUBLIC_URL)',
    path: ['S3_PUBLIC_ENDPOINT'],
  });

/** Every variable the hub reads: deployment files (hub/deploy) may set only these. */
export const HUB_ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export type HubEnv = z.infer<typeof envSchema> & { dataDir: string; keysDir: string };

export function loadEnv(source: Record<string, string | undefined> = process.env): HubEnv {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || 'env'}: ${issue.message}`);
    throw new Error(`invalid environment:\n${lines.join('\n')}`);
  }
  const dataDir = path.resolve(parsed.data.HUB_DATA_DIR);
  return { ...parsed.data, dataDir, keysDir: path.resolve(parsed.data.SIGNING_KEYS_DIR ?? path.join(dataDir, 'keys')) };
}
