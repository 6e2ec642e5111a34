/** The labeling_settings table: a project's labeling settings. No row means the defaults (shared DEFAULT_LABELING_SETTINGS). */
import { DEFAULT_LABELING_SETTINGS, type LabelingSettings, reviewAcceptanceSchema } from '@edgeloop/shared';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/database';
import { labelingSettings } from '../db/schema';
import { parseStored } from '../db/stored-json';

export interface StoredLabelingSettings extends LabelingSettings {
  /** Who changed them last and when; null for the defaults (no row). */
  updatedBy: string | null;
  updatedAt: Date | null;
}

export async function settingsOf(db: Database, projectId: string): Promise<StoredLabelingSettings> {
  const [row] = await db.select().from(labelingSettings).where(eq(labelingSettings.projectId, projectId));
  if (!row) return { ...DEFAULT_LABELING_SETTINGS, updatedBy: null, updatedAt: null };
  return {
    collectReviewedImages: row.collectReviewedImages,
    acceptance: parseStored(reviewAcceptanceSchema, row.acceptance, `labeling settings of project ${projectId} acceptance`),
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt,
  };
}

export async function saveSettings(db: Database, projectId: string, settings: LabelingSettings, by: { name: string; at: Date }): Promise<void> {
  const row = { collectReviewedImages: settings.collectReviewedImages, acceptance: settings.acceptance, updatedBy: by.name, updatedAt: by.at };
  await db
    .insert(labelingSettings)
    .values({ projectId, ...row })
    .onConflictDoUpdate({ target: labelingSettings.projectId, set: row });
}
