import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

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
  },
  (t) => [check('api_tokens_role', sql`${t.role} in ('admin', 'engineer', 'labeler', 'device', 'ci')`)],
);

export const projects = pgTable('projects', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  labels: jsonb('labels').$type<string[]>().notNull(),
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
    counts: jsonb('counts').$type<Record<string, Record<string, number>>>().notNull(),
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
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
});
