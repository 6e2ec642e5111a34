/**
 * The monitor_streams table: one monitor per (model version, channel) with the cursor of the events it has processed,
 * the detectors' packed state and their latest snapshot. Every update checks `revision`, so two processes that both
 * read a stream cannot both save it (the update job also holds the stream's advisory lock: monitorLockKey).
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { modelVersions, monitorStreams, registeredModels } from '../db/schema';

type Row = typeof monitorStreams.$inferSelect;
/**
 * A stream; cursor: the last event read, its arrival time as PostgreSQL's text (microseconds, which a Date would
 * round away), null before the first.
 */
export type MonitorStream = Omit<Row, 'cursorReceivedAt' | 'cursorId'> & { cursor: { receivedAt: string; id: string } | null };
/** A stream without its packed state (tens of KB): what readers of the dashboard need. */
export type StreamHeader = Omit<MonitorStream, 'state' | 'cursor'> & { model: string; version: number };

const columns = {
  id: monitorStreams.id,
  projectId: monitorStreams.projectId,
  modelVersionId: monitorStreams.modelVersionId,
  channel: monitorStreams.channel,
  cursorReceivedAt: sql<string | null>`${monitorStreams.cursorReceivedAt}::text`,
  cursorId: monitorStreams.cursorId,
  events: monitorStreams.events,
  admitted: monitorStreams.admitted,
  snapshot: monitorStreams.snapshot,
  state: monitorStreams.state,
  revision: monitorStreams.revision,
  updatedAt: monitorStreams.updatedAt,
};

function read({ cursorReceivedAt, cursorId, ...row }: { cursorReceivedAt: string | null; cursorId: string | null } & Omit<MonitorStream, 'cursor'>): MonitorStream {
  return { ...row, cursor: cursorReceivedAt && cursorId ? { receivedAt: cursorReceivedAt, id: cursorId } : null };
}

/** The advisory lock key of one stream: every process updating it takes this lock first. */
export const monitorLockKey = (streamId: string) => `edgeloop.monitor/${streamId}`;

/** The stream of (model version, channel), made on first use. */
export async function getOrCreate(db: Database, key: { projectId: string; modelVersionId: string; channel: string }): Promise<MonitorStream> {
  await db.insert(monitorStreams).values(key).onConflictDoNothing({ target: [monitorStreams.modelVersionId, monitorStreams.channel] });
  const [found] = await db
    .select(columns)
    .from(monitorStreams)
    .where(and(eq(monitorStreams.modelVersionId, key.modelVersionId), eq(monitorStreams.channel, key.channel)));
  return read(found!);
}

/** What makes the stream (no state): its project and model version, or null when there is no such stream. */
export async function keyOf(db: Database, id: string): Promise<{ projectId: string; modelVersionId: string; channel: string } | null> {
  const [row] = await db
    .select({ projectId: monitorStreams.projectId, modelVersionId: monitorStreams.modelVersionId, channel: monitorStreams.channel })
    .from(monitorStreams)
    .where(eq(monitorStreams.id, id));
  return row ?? null;
}

export async function findById(db: Database, id: string): Promise<MonitorStream | null> {
  const [row] = await db.select(columns).from(monitorStreams).where(eq(monitorStreams.id, id));
  return row ? read(row) : null;
}

/** The project's streams with their model's name and version number, without packed state; oldest first. */
export async function headersOfProject(db: Database, projectId: string): Promise<StreamHeader[]> {
  return db
    .select({
      id: monitorStreams.id,
      projectId: monitorStreams.projectId,
      modelVersionId: monitorStreams.modelVersionId,
      channel: monitorStreams.channel,
      events: monitorStreams.events,
      admitted: monitorStreams.admitted,
      snapshot: monitorStreams.snapshot,
      revision: monitorStreams.revision,
      updatedAt: monitorStreams.updatedAt,
      model: registeredModels.name,
      version: modelVersions.version,
    })
    .from(monitorStreams)
    .innerJoin(modelVersions, eq(modelVersions.id, monitorStreams.modelVersionId))
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(eq(monitorStreams.projectId, projectId))
    .orderBy(asc(registeredModels.name), asc(modelVersions.version), asc(monitorStreams.channel));
}

/**
 * Saves what one update computed, if nobody saved the stream since it was read at `revision`; false when someone did
 * (the caller's work is stale and its transaction should roll back).
 */
export async function save(
  db: Database,
  id: string,
  revision: number,
  next: { cursor: { receivedAt: string; id: string } | null; events: number; admitted: number; snapshot: unknown; state: Uint8Array; at: Date },
): Promise<boolean> {
  const rows = await db
    .update(monitorStreams)
    .set({
      cursorReceivedAt: next.cursor ? sql`${next.cursor.receivedAt}::timestamptz` : null,
      cursorId: next.cursor?.id ?? null,
      events: next.events,
      admitted: next.admitted,
      snapshot: next.snapshot,
      state: next.state,
      revision: sql`${monitorStreams.revision} + 1`,
      updatedAt: next.at,
    })
    .where(and(eq(monitorStreams.id, id), eq(monitorStreams.revision, revision)))
    .returning({ id: monitorStreams.id });
  return rows.length === 1;
}

/** The stream of the project's (model name, version number, channel), without packed state. */
export async function findByName(db: Database, input: { projectId: string; model: string; version: number; channel: string }): Promise<{ id: string } | null> {
  const [row] = await db
    .select({ id: monitorStreams.id })
    .from(monitorStreams)
    .innerJoin(modelVersions, eq(modelVersions.id, monitorStreams.modelVersionId))
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(
      and(
        eq(monitorStreams.projectId, input.projectId),
        eq(registeredModels.name, input.model),
        eq(modelVersions.version, input.version),
        eq(monitorStreams.channel, input.channel),
      ),
    );
  return row ?? null;
}
