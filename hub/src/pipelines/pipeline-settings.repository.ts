/** The pipeline_settings table: a project's retraining settings as stored jsonb. No row means the defaults. */
import { type PipelineSettings, pipelineSettingsSchema } from '@edgeloop/shared';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/database';
import { pipelineSettings } from '../db/schema';
import { parseStored } from '../db/stored-json';

export async function settingsOf(db: Database, projectId: string): Promise<{ settings: PipelineSettings; updatedBy: string; updatedAt: Date } | null> {
  const [row] = await db.select().from(pipelineSettings).where(eq(pipelineSettings.projectId, projectId));
  if (!row) return null;
  return { settings: parseStored(pipelineSettingsSchema, row.settings, `pipeline settings of project ${projectId}`), updatedBy: row.updatedBy, updatedAt: row.updatedAt };
}

export async function saveSettings(db: Database, projectId: string, settings: PipelineSettings, by: { name: string; at: Date }): Promise<void> {
  const row = { settings, updatedBy: by.name, updatedAt: by.at };
  await db
    .insert(pipelineSettings)
    .values({ projectId, ...row })
    .onConflictDoUpdate({ target: pipelineSettings.projectId, set: row });
}
