/**
 * The registered_models and model_versions tables: a project's named models and their published, immutable
 * versions (a trigger refuses UPDATE on model_versions). Version rows are read through the weight-format contract.
 */
import { modelMetricsSchema, weightFormatsSchema } from '@edgeloop/shared';
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../db/database';
import { modelVersions, registeredModels } from '../db/schema';
import { parseStored } from '../db/stored-json';

export type RegisteredModel = typeof registeredModels.$inferSelect;
export type ModelVersion = typeof modelVersions.$inferSelect;
export type NewModelVersion = Omit<typeof modelVersions.$inferInsert, 'id' | 'createdAt'>;

function toVersion(row: ModelVersion): ModelVersion {
  const where = (column: string) => `model version ${row.version} (${row.id}) ${column}`;
  return { ...row, formats: parseStored(weightFormatsSchema, row.formats, where('formats')), metrics: parseStored(modelMetricsSchema, row.metrics, where('metrics')) };
}

export async function findModel(db: Database, projectId: string, name: string): Promise<RegisteredModel | null> {
  const [row] = await db.select().from(registeredModels).where(and(eq(registeredModels.projectId, projectId), eq(registeredModels.name, name)));
  return row ?? null;
}

/** The project's model of that name, registered now if it was not (concurrent callers get the same row). */
export async function ensureModel(db: Database, model: { projectId: string; name: string; createdBy: string }): Promise<RegisteredModel> {
  await db.insert(registeredModels).values(model).onConflictDoNothing();
  return (await findModel(db, model.projectId, model.name))!;
}

export async function listModels(db: Database, projectId: string): Promise<RegisteredModel[]> {
  return db.select().from(registeredModels).where(eq(registeredModels.projectId, projectId));
}

export async function findVersion(db: Database, modelId: string, version: number): Promise<ModelVersion | null> {
  const [row] = await db.select().from(modelVersions).where(and(eq(modelVersions.modelId, modelId), eq(modelVersions.version, version)));
  return row ? toVersion(row) : null;
}

export async function findVersionById(db: Database, id: string): Promise<ModelVersion | null> {
  const [row] = await db.select().from(modelVersions).where(eq(modelVersions.id, id));
  return row ? toVersion(row) : null;
}

/** A model's versions, newest first. */
export async function listVersions(db: Database, modelId: string): Promise<ModelVersion[]> {
  const rows = await db.select().from(modelVersions).where(eq(modelVersions.modelId, modelId)).orderBy(desc(modelVersions.version));
  return rows.map(toVersion);
}

/** Version number by version id, for every version of the model. */
export async function versionNumbers(db: Database, modelId: string): Promise<Map<string, number>> {
  const rows = await db.select({ id: modelVersions.id, version: modelVersions.version }).from(modelVersions).where(eq(modelVersions.modelId, modelId));
  return new Map(rows.map((r) => [r.id, r.version]));
}

/** The highest version number of the model, or null before its first version. */
export async function latestVersionNumber(db: Database, modelId: string): Promise<number | null> {
  const [row] = await db.select({ version: modelVersions.version }).from(modelVersions).where(eq(modelVersions.modelId, modelId)).orderBy(desc(modelVersions.version)).limit(1);
  return row?.version ?? null;
}

/** Inserts a version; a version number taken meanwhile fails with the unique violation (23505) for the caller to judge. */
export async function createVersion(db: Database, version: NewModelVersion): Promise<ModelVersion> {
  const [row] = await db.insert(modelVersions).values(version).returning();
  return toVersion(row!);
}

/** The version of the project's `model` that `runId` was published as, if any (the earliest, should there be several). */
export async function versionOfRun(db: Database, ref: { projectId: string; model: string; runId: string }): Promise<ModelVersion | null> {
  const [row] = await db
    .select({ version: modelVersions })
    .from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(and(eq(registeredModels.projectId, ref.projectId), eq(registeredModels.name, ref.model), eq(modelVersions.runId, ref.runId)))
    .orderBy(asc(modelVersions.version))
    .limit(1);
  return row ? toVersion(row.version) : null;
}

/** The versions (of any model) a run was published as, oldest first. */
export async function versionsOfRun(db: Database, runId: string): Promise<{ model: string; version: number; createdAt: Date }[]> {
  return db
    .select({ model: registeredModels.name, version: modelVersions.version, createdAt: modelVersions.createdAt })
    .from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(eq(modelVersions.runId, runId))
    .orderBy(asc(modelVersions.createdAt), asc(registeredModels.name));
}

/** Where the signed manifest of the project's `model` version `version` is stored, or null when there is no such version. */
export async function manifestKeyOf(db: Database, ref: { projectId: string; model: string; version: number }): Promise<string | null> {
  const [row] = await db
    .select({ manifestKey: modelVersions.manifestKey })
    .from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(and(eq(registeredModels.projectId, ref.projectId), eq(registeredModels.name, ref.model), eq(modelVersions.version, ref.version)));
  return row?.manifestKey ?? null;
}

/** Every version of the project's models named in `models`: its id, model name and number. */
export async function versionIdsOf(db: Database, projectId: string, models: string[]): Promise<{ id: string; model: string; version: number }[]> {
  return db
    .select({ id: modelVersions.id, model: registeredModels.name, version: modelVersions.version })
    .from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(and(eq(registeredModels.projectId, projectId), inArray(registeredModels.name, models)));
}

/** Whether any model version was ever published (they were signed: a new signing key would not verify them). */
export async function hasPublishedVersions(db: Database): Promise<boolean> {
  const [row] = await db.select({ id: modelVersions.id }).from(modelVersions).limit(1);
  return row !== undefined;
}
