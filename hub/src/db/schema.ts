import {
  DEFAULT_MAX_IMAGE_PIXELS,
  type Evaluations,
  type Lineage,
  type ModelConfig,
  type ModelMetrics,
  type SplitLabelCounts,
  type StoredReferenceProfileSummary,
  type SweepSpace,
  type TopClasses,
  type TrainConfig,
  type RunProgress,
  type WeightFormats,
} from '@edgeloop/shared';
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, customType, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

/** Raw bytes (bytea), read back as a Uint8Array view of the driver's buffer. */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

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

/**
 * Long dataset work (imports, commits) as the admin shows it, whichever process does it: every hub replica lists the
 * same. `updated_at` is the work's heartbeat: running work not updated for minutes lost its process.
 */
export const datasetActivities = pgTable(
  'dataset_activities',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    step: text('step').notNull(),
    done: integer('done').notNull().default(0),
    total: integer('total'),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
    failed: text('failed'),
  },
  (t) => [index('dataset_activities_project').on(t.projectId, t.id), check('dataset_activities_kind', sql`${t.kind} in ('import', 'commit')`)],
);

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
    progress: jsonb('progress').$type<RunProgress>(),
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
    /**
     * A staged rollout in progress: the candidate version a share of devices (a stable hash of each device's id
     * below candidateShare) runs instead of modelVersionId, since candidateSince. Null when there is none.
     */
    candidateVersionId: uuid('candidate_version_id').references(() => modelVersions.id),
    candidateShare: doublePrecision('candidate_share'),
    candidateSince: timestamp('candidate_since', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    primaryKey({ columns: [t.modelId, t.name] }),
    check(
      'channels_candidate',
      sql`(${t.candidateVersionId} is null and ${t.candidateShare} is null and ${t.candidateSince} is null) or (${t.candidateVersionId} is not null and ${t.candidateShare} > 0 and ${t.candidateShare} < 1 and ${t.candidateSince} is not null)`,
    ),
  ],
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
  (t) => [index('channel_events_model_channel').on(t.modelId, t.channel, t.id), check('channel_events_action', sql`${t.action} in ('promote', 'rollback', 'canary', 'canary-abort')`)],
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
    /** The channel the device took the model from: monitors keep one stream per (model version, channel). */
    channel: text('channel').notNull().default('production'),
    /** Top-1 label and its probability; topK holds the ranked list the device sent. */
    label: text('label').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    topK: jsonb('top_k').$type<TopClasses>().notNull(),
    /**
     * Output of the model's embedding layer: what drift detection compares. float32 little-endian, 4 bytes per value
     * (a Float32Array's own bytes on every platform the hub runs on), so reading it back is a view, not a parse.
     */
    embedding: bytea('embedding').notNull(),
    backend: text('backend').notNull(),
    latencyMs: doublePrecision('latency_ms').notNull(),
    source: text('source').notNull(),
    sentBy: text('sent_by').notNull(),
    /** The installation that made it (a random id the PWA keeps); null from devices older than the field. */
    deviceId: text('device_id'),
    /** The PWA build that made it; null from devices older than the field. */
    appVersion: text('app_version'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('predictions_project_created').on(t.projectId, t.createdAt),
    index('predictions_model_version').on(t.modelVersionId, t.createdAt),
    // A monitor stream reads its new events in arrival order from a cursor.
    index('predictions_stream_cursor').on(t.modelVersionId, t.channel, t.receivedAt, t.id),
  ],
);

/** Labels people gave predictions (confirmations and corrections): ground truth. The latest per prediction counts. */
export const corrections = pgTable(
  'corrections',
  {
    id: uuid('id').primaryKey(),
    predictionId: uuid('prediction_id')
      .notNull()
      .references(() => predictions.id, { onDelete: 'cascade' }),
    /** The label people gave; null when they said "none of these labels / unusable" (unusable is then true). */
    label: text('label'),
    unusable: boolean('unusable').notNull().default(false),
    labeledBy: text('labeled_by').notNull(),
    /** The review assignment the label answers (how its prediction was chosen for review); null for a label given unasked. */
    assignmentId: uuid('assignment_id').references(() => reviewAssignments.id),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('corrections_prediction').on(t.predictionId, t.createdAt),
    check('corrections_label_or_unusable', sql`(${t.label} is not null) <> ${t.unusable}`),
  ],
);

/**
 * How a prediction was chosen for people to review, decided once when its monitor processed it: the queue's policy,
 * the component that chose it (a uniform sample or the uncertainty-weighted one) and the probability it had of being
 * chosen. Label-based accuracy weighs each label by that probability, so the doubtful-first order biases nothing.
 */
export const reviewAssignments = pgTable(
  'review_assignments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    predictionId: uuid('prediction_id')
      .notNull()
      .unique('review_assignments_prediction')
      .references(() => predictions.id, { onDelete: 'cascade' }),
    modelVersionId: uuid('model_version_id')
      .notNull()
      .references(() => modelVersions.id),
    policy: text('policy').notNull(),
    component: text('component').notNull(),
    inclusionProbability: doublePrecision('inclusion_probability').notNull(),
    /** 1 - calibrated probability of the predicted class: the queue's order. */
    uncertainty: doublePrecision('uncertainty').notNull(),
    status: text('status').notNull().default('queued'),
    shownTo: text('shown_to'),
    shownAt: timestamp('shown_at', { withTimezone: true, mode: 'date' }),
    labeledAt: timestamp('labeled_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
  },
  (t) => [
    index('review_assignments_queue').on(t.projectId, t.status, t.uncertainty),
    // Accuracy from labels reads one model version's assignments.
    index('review_assignments_version').on(t.modelVersionId, t.status),
    check('review_assignments_status', sql`${t.status} in ('queued', 'shown', 'labeled', 'expired')`),
    check('review_assignments_component', sql`${t.component} in ('uniform', 'uncertainty')`),
    check('review_assignments_probability', sql`${t.inclusionProbability} > 0 and ${t.inclusionProbability} <= 1`),
  ],
);

/**
 * The reference profile of a published model version: what its monitors compare production with, computed on held-out
 * data (val and test) with the encoding devices run. Immutable once ready, like the version (a trigger refuses updates).
 */
export const referenceProfiles = pgTable(
  'reference_profiles',
  {
    modelVersionId: uuid('model_version_id')
      .primaryKey()
      .references(() => modelVersions.id, { onDelete: 'cascade' }),
    status: text('status').notNull(),
    /** Why computing failed, in words for an engineer. */
    error: text('error'),
    encoding: text('encoding'),
    /** The profile's numbers people read (confusion, mixes, calibration, thresholds, the data used): shared's storedReferenceProfileSummarySchema. */
    summary: jsonb('summary').$type<StoredReferenceProfileSummary>(),
    /** The arrays detectors compute with (head weights, PCA basis, reference samples), packed float32. */
    arrays: bytea('arrays'),
    sha256: text('sha256'),
    createdAt: createdAt(),
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [check('reference_profiles_status', sql`${t.status} in ('computing', 'ready', 'failed')`)],
);

/**
 * One monitor per (model version, channel): the cursor of the events it has processed and the detectors' state, so
 * any hub process can continue it. revision guards against two processes updating it at once.
 */
export const monitorStreams = pgTable(
  'monitor_streams',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    modelVersionId: uuid('model_version_id')
      .notNull()
      .references(() => modelVersions.id),
    channel: text('channel').notNull(),
    cursorReceivedAt: timestamp('cursor_received_at', { withTimezone: true, mode: 'date' }),
    cursorId: uuid('cursor_id'),
    /** Events processed; admitted = those the window detectors took (a device over its share is skipped). */
    events: bigint('events', { mode: 'number' }).notNull().default(0),
    admitted: bigint('admitted', { mode: 'number' }).notNull().default(0),
    /** The detectors' latest statistics and explanations: shared's monitor snapshot schema. */
    snapshot: jsonb('snapshot'),
    /** The detectors' packed state (windows, sums), continued by the next update. */
    state: bytea('state'),
    revision: integer('revision').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [unique('monitor_streams_version_channel').on(t.modelVersionId, t.channel), index('monitor_streams_project').on(t.projectId)],
);

/** Each detector's statistic over a stream's events (every few events and at each alarm): drawn with its threshold. */
export const monitorPoints = pgTable(
  'monitor_points',
  {
    streamId: uuid('stream_id')
      .notNull()
      .references(() => monitorStreams.id, { onDelete: 'cascade' }),
    detector: text('detector').notNull(),
    eventIndex: bigint('event_index', { mode: 'number' }).notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    value: doublePrecision('value').notNull(),
    threshold: doublePrecision('threshold').notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.detector, t.eventIndex] }), index('monitor_points_time').on(t.streamId, t.detector, t.at)],
);

/** Per stream and minute: counts the dashboard reads instead of scanning events (class mix, confidence, devices). */
export const monitorRollups = pgTable(
  'monitor_rollups',
  {
    streamId: uuid('stream_id')
      .notNull()
      .references(() => monitorStreams.id, { onDelete: 'cascade' }),
    bucket: timestamp('bucket', { withTimezone: true, mode: 'date' }).notNull(),
    events: integer('events').notNull(),
    /** Predicted-class counts, in the project's label order. */
    classCounts: integer('class_counts').array().notNull(),
    lowConfidence: integer('low_confidence').notNull(),
    /** Sum of calibrated top-1 probabilities: expected correct predictions. */
    expectedCorrect: doublePrecision('expected_correct').notNull(),
    /** Calibrated confidence in 20 bins of 0.05. */
    confidenceHistogram: integer('confidence_histogram').array().notNull(),
    /** Latency counts in log-spaced bins (shared's latency bins). */
    latencyHistogram: integer('latency_histogram').array().notNull(),
    /** Events per backend, app version and device (the most active devices only). */
    backends: jsonb('backends').$type<Record<string, number>>().notNull(),
    appVersions: jsonb('app_versions').$type<Record<string, number>>().notNull(),
    devices: jsonb('devices').$type<Record<string, number>>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.bucket] })],
);

/** A detector's alarm that passed its effect gate: open until the statistic stays below its threshold a while. */
export const alerts = pgTable(
  'alerts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    streamId: uuid('stream_id')
      .notNull()
      .references(() => monitorStreams.id, { onDelete: 'cascade' }),
    detector: text('detector').notNull(),
    status: text('status').notNull(),
    openedAt: timestamp('opened_at', { withTimezone: true, mode: 'date' }).notNull(),
    openedAtEvent: bigint('opened_at_event', { mode: 'number' }).notNull(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, mode: 'date' }),
    statistic: doublePrecision('statistic').notNull(),
    threshold: doublePrecision('threshold').notNull(),
    /** What moved and who contributed: shared's alert explanation schema. */
    explanation: jsonb('explanation').notNull(),
    webhookStatus: text('webhook_status'),
  },
  (t) => [index('alerts_project').on(t.projectId, t.status, t.openedAt), check('alerts_status', sql`${t.status} in ('open', 'resolved')`)],
);

/** A project's monitoring settings: the effect sizes worth an alert, the review rate, a webhook. Defaults when absent. */
export const monitorSettings = pgTable('monitor_settings', {
  projectId: uuid('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  minTotalVariation: doublePrecision('min_total_variation').notNull(),
  minAccuracyDrop: doublePrecision('min_accuracy_drop').notNull(),
  deviceCap: doublePrecision('device_cap').notNull(),
  reviewRate: doublePrecision('review_rate').notNull(),
  uniformShare: doublePrecision('uniform_share').notNull(),
  webhookUrl: text('webhook_url'),
  updatedBy: text('updated_by').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * A project's labeling settings: whether images of reviewed predictions are collected (off by default, and the PWA
 * tells its user), and the rule that accepts a reviewed image into the working set (shared's labelingSettingsSchema).
 */
export const labelingSettings = pgTable('labeling_settings', {
  projectId: uuid('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  collectReviewedImages: boolean('collect_reviewed_images').notNull().default(false),
  /** How a pending review item is accepted: shared's reviewAcceptanceSchema (a person only, labelers agreeing, trusted labelers). */
  acceptance: jsonb('acceptance').notNull(),
  updatedBy: text('updated_by').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * Images of reviewed predictions that came from devices, waiting to join the working set: held as pending until a
 * person in the admin's review inbox or a project rule accepts them (or a person rejects them). One row per
 * (project, image); each label given to the image is a review_item_votes row.
 */
export const reviewItems = pgTable(
  'review_items',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    sha256: text('sha256')
      .notNull()
      .references(() => blobs.sha256),
    /** The prediction the image belongs to, when a device sent it with one. */
    predictionId: uuid('prediction_id').references(() => predictions.id, { onDelete: 'set null' }),
    /** Where it came from: 'review' (a labeler in the PWA or admin), 'device' (collected by the project setting). */
    source: text('source').notNull(),
    status: text('status').notNull().default('pending'),
    /** The label it joins the working set with, once accepted. */
    label: text('label'),
    /** The rule that accepted it ('person', 'agreement', 'trusted-labeler'), or who rejected it. */
    decidedBy: text('decided_by'),
    decisionRule: text('decision_rule'),
    decidedAt: timestamp('decided_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
  },
  (t) => [
    unique('review_items_project_sha').on(t.projectId, t.sha256),
    index('review_items_inbox').on(t.projectId, t.status, t.createdAt),
    check('review_items_status', sql`${t.status} in ('pending', 'accepted', 'rejected')`),
    check('review_items_rule', sql`${t.decisionRule} is null or ${t.decisionRule} in ('person', 'agreement', 'trusted-labeler')`),
  ],
);

/** A label one labeler gave a pending review item: two agreeing votes (or one trusted one) can accept it by rule. */
export const reviewItemVotes = pgTable(
  'review_item_votes',
  {
    itemId: uuid('item_id')
      .notNull()
      .references(() => reviewItems.id, { onDelete: 'cascade' }),
    labeledBy: text('labeled_by').notNull(),
    /** Null: the labeler said "none of these labels / unusable". */
    label: text('label'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.itemId, t.labeledBy] })],
);

/** A project's retraining settings: triggers, the gate's margins and the staged rollout (shared's pipelineSettingsSchema). */
export const pipelineSettings = pgTable('pipeline_settings', {
  projectId: uuid('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  settings: jsonb('settings').notNull(),
  updatedBy: text('updated_by').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * One run of the retraining pipeline for a model's channel: why it started, the champion it challenges, and how it
 * ended. Its steps are pipeline_steps rows, each run as its own queue job.
 */
export const pipelineRuns = pgTable(
  'pipeline_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    modelId: uuid('model_id')
      .notNull()
      .references(() => registeredModels.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(),
    trigger: text('trigger').notNull(),
    /** The trigger in words ("alert 3f2c… open 30 min", "250 new reviews", "cron 0 3 * * *"). */
    triggerDetail: text('trigger_detail').notNull(),
    /** The run's options as started (shared's pipelineRunConfigSchema): base dataset version, model/train configs, gate and rollout settings. */
    config: jsonb('config').notNull(),
    status: text('status').notNull().default('running'),
    /** How it ended for the model: 'promoted', 'candidate' (the gate refused), 'rolled-back', or null while running. */
    outcome: text('outcome'),
    championVersionId: uuid('champion_version_id').references(() => modelVersions.id),
    challengerVersionId: uuid('challenger_version_id').references(() => modelVersions.id),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('pipeline_runs_project').on(t.projectId, t.createdAt),
    check('pipeline_runs_status', sql`${t.status} in ('running', 'succeeded', 'failed', 'cancelled')`),
    check('pipeline_runs_trigger', sql`${t.trigger} in ('manual', 'ci', 'alert', 'reviews', 'schedule')`),
  ],
);

/**
 * A step of a pipeline run. inputsHash is the sha256 of the step's canonical inputs: a step whose inputs a succeeded
 * step already had is skipped with that step's outputs. attempt guards against two processes running one step.
 */
export const pipelineSteps = pgTable(
  'pipeline_steps',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => pipelineRuns.id, { onDelete: 'cascade' }),
    step: text('step').notNull(),
    position: integer('position').notNull(),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    inputsHash: text('inputs_hash'),
    inputs: jsonb('inputs'),
    outputs: jsonb('outputs'),
    /** The run whose step's outputs a skipped step reused. */
    reusedFromRunId: uuid('reused_from_run_id'),
    error: text('error'),
    jobId: text('job_id'),
    worker: text('worker'),
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true, mode: 'date' }),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.step] }),
    index('pipeline_steps_reuse').on(t.step, t.inputsHash, t.status),
    check('pipeline_steps_status', sql`${t.status} in ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')`),
    check('pipeline_steps_step', sql`${t.step} in ('build-dataset', 'train', 'evaluate', 'gate', 'publish', 'rollout')`),
  ],
);

export const pipelineStepLogs = pgTable(
  'pipeline_step_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => pipelineRuns.id, { onDelete: 'cascade' }),
    step: text('step').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    line: text('line').notNull(),
  },
  (t) => [index('pipeline_step_logs_run').on(t.runId, t.id)],
);
