import {
  DEFAULT_MAX_IMAGE_PIXELS,
  type Evaluations,
  type Lineage,
  type ModelConfig,
  type ModelMetrics,
  type SplitLabelCounts,
  type SweepSpace,
  type TopClasses,
  type TrainConfig,
  type TrainingProgress,
  type WeightFormats,
} from '@edgeloop/shared';
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, doublePrecision, index, integer, jsonb, pgTable, primaryKey, real, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

/** API tokens: only the sha256 of the secret is stored. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    role: text('role').notNull(),
    secretHash: text('secret_hash').notNull().unique(),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    /**
     * The projects (ids, so a renamed or re-created slug never widens a scope) the token may act on; null = every project.
     * Required for device, labeler and ci tokens, never set for admin ones (token.service). Tokens from before scopes have null.
     */
    projectIds: uuid('project_ids').array(),
  },
  (t) => [check('api_tokens_role', sql`${t.role} in ('admin', 'engineer', 'labeler', 'device', 'ci')`)],
);

export const projects = pgTable('projects', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  labels: jsonb('labels').$type<string[]>().notNull(),
  /** Largest image (width x height) the project accepts; checked from the header, before decoding. */
  maxImagePixels: integer('max_image_pixels').notNull().default(DEFAULT_MAX_IMAGE_PIXELS),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
});

/** Content-addressed image bytes in the object store, one row per distinct sha256. */
export const blobs = pgTable('blobs', {
  sha256: text('sha256').primaryKey(),
  bytes: integer('bytes').notNull(),
  contentType: text('content_type').notNull(),
  width: integer('width').notNull(),
  height: integer('height').notNull(),
  createdAt: createdAt(),
});

/** The working set of a project: what the next dataset version will contain. */
export const items = pgTable(
  'items',
  {
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    sha256: text('sha256')
      .notNull()
      .references(() => blobs.sha256),
    label: text('label').notNull(),
    split: text('split').notNull(),
    source: text('source').notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.projectId, t.sha256] }),
    index('items_project_label').on(t.projectId, t.label),
    check('items_split', sql`${t.split} in ('train', 'val', 'test')`),
  ],
);

/**
 * Immutable dataset versions. The id is the sha256 of the canonical manifest, which is stored in the
 * object store under the same hash. A trigger (migration 0001) refuses UPDATE on this table.
 */
export const datasetVersions = pgTable(
  'dataset_versions',
  {
    id: text('id').primaryKey(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    parentId: text('parent_id'),
    message: text('message').notNull(),
    itemCount: integer('item_count').notNull(),
    /** counts[split][label] = number of items. */
    counts: jsonb('counts').$type<SplitLabelCounts>().notNull(),
    manifestBytes: bigint('manifest_bytes', { mode: 'number' }).notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('dataset_versions_project').on(t.projectId, t.createdAt)],
);

/** Browser uploads in flight: a presigned PUT to a staging key, accepted only after verification. */
export const uploads = pgTable('uploads', {
  id: uuid('id').primaryKey().defaultRandom(),
  projectId: uuid('project_id')
    .notNull()
    .references(() => projects.id, { onDelete: 'cascade' }),
  sha256: text('sha256').notNull(),
  bytes: integer('bytes').notNull(),
  contentType: text('content_type').notNull(),
  label: text('label').notNull(),
  split: text('split').notNull(),
  createdBy: text('created_by').notNull(),
  /** Who may complete it: the token, not its name (names are not unique). Null only for uploads started before this column. */
  createdByTokenId: uuid('created_by_token_id').references(() => apiTokens.id),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
});

const RUN_STATUSES_SQL = sql`'queued', 'running', 'succeeded', 'failed', 'cancelled'`;

/** A sweep queues one run per point of a config space; a chooser picks the best by a named metric. */
export const sweeps = pgTable('sweeps', {
  id: uuid('id').primaryKey().defaultRandom(),
  projectId: uuid('project_id')
    .notNull()
    .references(() => projects.id, { onDelete: 'cascade' }),
  strategy: text('strategy').notNull(),
  space: jsonb('space').$type<SweepSpace>().notNull(),
  metric: text('metric').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
});

/** One training run: its inputs, lineage, live progress, and results. Epoch metrics and logs have tables of their own. */
export const runs = pgTable(
  'runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    datasetVersionId: text('dataset_version_id')
      .notNull()
      .references(() => datasetVersions.id),
    sweepId: uuid('sweep_id').references(() => sweeps.id, { onDelete: 'set null' }),
    status: text('status').notNull().default('queued'),
    modelConfig: jsonb('model_config').$type<ModelConfig>().notNull(),
    trainConfig: jsonb('train_config').$type<TrainConfig>().notNull(),
    /** Where and how it ran: git commit, code version, backend, replicas, machine, seed. */
    lineage: jsonb('lineage').$type<Lineage>(),
    progress: jsonb('progress').$type<TrainingProgress>(),
    /** Test-split evaluation per weight encoding. */
    evaluation: jsonb('evaluation').$type<Evaluations>(),
    /** Object-store prefix of the exported model files. */
    artifactPrefix: text('artifact_prefix'),
    error: text('error'),
    jobId: text('job_id'),
    attempts: integer('attempts').notNull().default(0),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    worker: text('worker'),
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true, mode: 'date' }),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('runs_project').on(t.projectId, t.createdAt), check('runs_status', sql`${t.status} in (${RUN_STATUSES_SQL})`)],
);

export const runEpochs = pgTable(
  'run_epochs',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    epoch: integer('epoch').notNull(),
    loss: doublePrecision('loss').notNull(),
    accuracy: doublePrecision('accuracy').notNull(),
    valLoss: doublePrecision('val_loss').notNull(),
    valAccuracy: doublePrecision('val_accuracy').notNull(),
    seconds: doublePrecision('seconds').notNull(),
    imagesPerSecond: doublePrecision('images_per_second').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.epoch] })],
);

export const runLogs = pgTable(
  'run_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    line: text('line').notNull(),
  },
  (t) => [index('run_logs_run').on(t.runId, t.id)],
);

export const registeredModels = pgTable(
  'registered_models',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [unique('registered_models_project_name').on(t.projectId, t.name)],
);

/** A published, immutable model version: its signed manifest lives in the object store under manifestKey. */
export const modelVersions = pgTable(
  'model_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    modelId: uuid('model_id')
      .notNull()
      .references(() => registeredModels.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id),
    manifestKey: text('manifest_key').notNull(),
    manifestSha256: text('manifest_sha256').notNull(),
    recommended: text('recommended').notNull(),
    /** Per published encoding: bytes and test accuracy; refused encodings with the reason. */
    formats: jsonb('formats').$type<WeightFormats>().notNull(),
    metrics: jsonb('metrics').$type<ModelMetrics>().notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [unique('model_versions_model_version').on(t.modelId, t.version)],
);

/** Mutable pointers (production, staging, ...) to a model version. */
export const channels = pgTable(
  'channels',
  {
    modelId: uuid('model_id')
      .notNull()
      .references(() => registeredModels.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    modelVersionId: uuid('model_version_id')
      .notNull()
      .references(() => modelVersions.id),
    movedBy: text('moved_by').notNull(),
    movedAt: timestamp('moved_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.name] })],
);

/** Every move of a channel, with who and why: the audit trail rollback walks back along. */
export const channelEvents = pgTable(
  'channel_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    modelId: uuid('model_id')
      .notNull()
      .references(() => registeredModels.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(),
    action: text('action').notNull(),
    fromVersionId: uuid('from_version_id').references(() => modelVersions.id),
    toVersionId: uuid('to_version_id')
      .notNull()
      .references(() => modelVersions.id),
    reason: text('reason').notNull(),
    movedBy: text('moved_by').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('channel_events_model_channel').on(t.modelId, t.channel, t.id), check('channel_events_action', sql`${t.action} in ('promote', 'rollback')`)],
);

/**
 * The public half of the signing key ring (registry/key-ring.ts), mirrored from keyring.json: so a hub or CLI whose
 * keys directory lacks the active key refuses to start instead of making another key that devices would not trust.
 * Never holds a private key.
 */
export const signingKeyRing = pgTable(
  'signing_key_ring',
  {
    id: text('id').primaryKey(),
    /** Raw 32-byte Ed25519 public key, base64. */
    publicKey: text('public_key').notNull(),
    state: text('state').notNull(),
    createdAt: createdAt(),
    retiredAt: timestamp('retired_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [check('signing_key_ring_state', sql`${t.state} in ('active', 'trusted', 'retired')`)],
);

/**
 * Legacy: older hubs kept the Ed25519 signing key here, in plaintext. The keys now live as owner-only files
 * (registry/key-ring.ts); at start the hub moves any row here into a key file and deletes the row, so this table
 * stays empty. Kept declared so existing databases migrate without a destructive step.
 */
export const signingKeys = pgTable('signing_keys', {
  id: text('id').primaryKey(),
  publicKeyPem: text('public_key_pem').notNull(),
  privateKeyPem: text('private_key_pem').notNull(),
  createdAt: createdAt(),
});

/**
 * Predictions devices made, synced from their outboxes. The id is made on the device, so a batch sent again
 * (after a lost response) inserts nothing twice. createdAt is the device's clock; receivedAt the hub's.
 */
export const predictions = pgTable(
  'predictions',
  {
    id: uuid('id').primaryKey(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    modelVersionId: uuid('model_version_id')
      .notNull()
      .references(() => modelVersions.id),
    /** Top-1 label and its probability; topK holds the ranked list the device sent. */
    label: text('label').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    topK: jsonb('top_k').$type<TopClasses>().notNull(),
    /** Output of the model's embedding layer: what drift detection compares. */
    embedding: real('embedding').array().notNull(),
    backend: text('backend').notNull(),
    latencyMs: doublePrecision('latency_ms').notNull(),
    source: text('source').notNull(),
    sentBy: text('sent_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('predictions_project_created').on(t.projectId, t.createdAt), index('predictions_model_version').on(t.modelVersionId, t.createdAt)],
);

/** Labels people gave predictions (confirmations and corrections): ground truth. The latest per prediction counts. */
export const corrections = pgTable(
  'corrections',
  {
    id: uuid('id').primaryKey(),
    predictionId: uuid('prediction_id')
      .notNull()
      .references(() => predictions.id, { onDelete: 'cascade' }),
    label: text('label').notNull(),
    labeledBy: text('labeled_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('corrections_prediction').on(t.predictionId, t.createdAt)],
);
