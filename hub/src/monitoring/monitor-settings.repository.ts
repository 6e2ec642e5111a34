/** The monitor_settings table: a project's monitoring settings. No row means the defaults (the service fills them). */
import { eq } from 'drizzle-orm';
import type { Database } from '../db/database';
import { monitorSettings } from '../db/schema';

export type StoredMonitorSettings = Omit<typeof monitorSettings.$inferSelect, 'projectId'>;
export type MonitorSettingsValues = Omit<StoredMonitorSettings, 'updatedAt' | 'updatedBy'>;

export async function settingsOf(db: Database, projectId: string): Promise<StoredMonitorSettings | null> {
  const [row] = await db.select().from(monitorSettings).where(eq(monitorSettings.projectId, projectId));
  if (!row) return null;
  const { projectId: _, ...settings } = row;
  return settings;
}

export async function saveSettings(db: Database, projectId: string, values: MonitorSettingsValues, by: { name: string; at: Date }): Promise<void> {
  const row = { ...values, updatedBy: by.name, updatedAt: by.at };
  await db
    .insert(monitorSettings)
    .values({ projectId, ...row })
    .onConflictDoUpdate({ target: monitorSettings.projectId, set: row });
}
