/**
 * What starts pipeline runs by itself: an alert open long enough on the champion's stream (once per alert), enough
 * new reviews since the model's channel last started a run, and a project's cron schedule (a pg-boss schedule per
 * project, sending to its own queue, drained every minute). None starts a run while one of that channel is running.
 * The manual and ci triggers are startPipelineRun called by people (admin, CLI).
 */
import { type PipelineSettingsInput, type PipelineTrigger, pipelineSettingsSchema } from '@edgeloop/shared';
import type { Caller, HubDeps } from '../deps';
import { HubError, badRequest } from '../errors';
import { labelsReceivedSince } from '../feedback/feedback.repository';
import { pipelineScheduleQueue } from '../jobs/job-queue';
import * as alerts from '../monitoring/alert.repository';
import type { Project } from '../projects/project.repository';
import { getProject, listProjects } from '../projects/project.service';
import * as channels from '../registry/channel.repository';
import * as models from '../registry/model-version.repository';
import * as pipelineRuns from './pipeline-run.repository';
import { type PipelineSettingsView, pipelineSettingsOf, setPipelineSettings } from './pipeline-settings.service';
import { type PipelineRunSummary, resolveModel, startPipelineRun } from './pipeline.service';

const triggerCaller = (trigger: PipelineTrigger): Caller => ({ tokenId: null, name: `trigger:${trigger}`, role: 'engineer', projects: null });

/** The alert detail a run records: its id first, so "once per alert" finds it. */
const alertDetail = (alertId: string) => `alert ${alertId}`;

export interface TriggerCheck {
  project: string;
  started: PipelineRunSummary | null;
  /** Why nothing started, or what did. */
  note: string;
}

/** Checks the alert and reviews triggers of every project; returns what each did. */
export async function checkTriggers(deps: HubDeps): Promise<TriggerCheck[]> {
  const out: TriggerCheck[] = [];
  for (const project of await listProjects(deps)) {
    try {
      out.push(await checkProjectTriggers(deps, project));
    } catch (error) {
      deps.log.error(`pipeline triggers of ${project.slug}: ${(error as Error).message}`);
      out.push({ project: project.slug, started: null, note: 'error' });
    }
  }
  return out;
}

export async function checkProjectTriggers(deps: HubDeps, project: Pick<Project, 'id' | 'slug'>): Promise<TriggerCheck> {
  const none = (note: string): TriggerCheck => ({ project: project.slug, started: null, note });
  const settings = await pipelineSettingsOf(deps, project.id);
  const { alertOpenMinutes, newReviews } = settings.triggers;
  if (alertOpenMinutes === null && newReviews === null) return none('alert and reviews triggers are off');
  const model = await resolveModel(deps, await getProject(deps, project.slug), settings.model).catch((error: unknown) => {
    if (error instanceof HubError) return null; // no model to retrain (yet): nothing to trigger
    throw error;
  });
  if (!model) return none('no model to retrain');
  const channel = settings.channel;
  const pointer = await channels.find(deps.db, model.id, channel);
  if (!pointer) return none(`channel ${channel} points to no version`);
  const running = await pipelineRuns.runningOf(deps.db, model.id, channel);
  if (running) return none(`run ${running.id} is running`);
  const now = deps.now();

  if (alertOpenMinutes !== null) {
    const champion = await models.findVersionById(deps.db, pointer.modelVersionId);
    const open = await alerts.listOfProject(deps.db, { projectId: project.id, status: 'open', limit: 200 });
    const due = open
      .filter((a) => a.model === model.name && a.channel === channel && a.version === champion?.version)
      .filter((a) => now.getTime() - a.openedAt.getTime() >= alertOpenMinutes * 60_000)
      .sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime());
    for (const alert of due) {
      if (await pipelineRuns.startedByDetail(deps.db, project.id, 'alert', alertDetail(alert.id))) continue;
      const minutes = Math.floor((now.getTime() - alert.openedAt.getTime()) / 60_000);
      const detail = `${alertDetail(alert.id)} (${alert.detector}) open ${minutes} min on v${alert.version}`;
      const started = await startTriggered(deps, project.slug, model.name, channel, 'alert', detail);
      if (started) return { project: project.slug, started, note: detail };
    }
  }
  if (newReviews !== null) {
    const since = (await pipelineRuns.lastStartOf(deps.db, model.id, channel)) ?? new Date(0);
    const labels = await labelsReceivedSince(deps.db, project.id, since);
    if (labels >= newReviews) {
      const detail = `${labels} new reviews (threshold ${newReviews}) since ${since.getTime() === 0 ? 'the start' : since.toISOString()}`;
      const started = await startTriggered(deps, project.slug, model.name, channel, 'reviews', detail);
      if (started) return { project: project.slug, started, note: detail };
    }
  }
  return none('no trigger is due');
}

/** Starts a run for a trigger (model and channel: the settings' when not given); null when one of the channel started meanwhile (another hub process, a person). */
async function startTriggered(deps: HubDeps, project: string, model: string | undefined, channel: string | undefined, trigger: PipelineTrigger, detail: string): Promise<PipelineRunSummary | null> {
  try {
    return await startPipelineRun(deps, triggerCaller(trigger), { project, model, channel, trigger, triggerDetail: detail });
  } catch (error) {
    if (error instanceof HubError && error.code === 'CONFLICT') return null;
    throw error;
  }
}

/**
 * Takes the jobs the projects' cron schedules sent (one queue per project) and starts a run for each; a schedule
 * that fires while a run of the channel is running starts nothing.
 */
export async function runScheduledTriggers(deps: HubDeps): Promise<PipelineRunSummary[]> {
  const started: PipelineRunSummary[] = [];
  const schedules = (await deps.queue.getSchedules()).filter((s) => s.name.startsWith(pipelineScheduleQueue('')));
  for (const schedule of schedules) {
    const jobs = await deps.queue.fetch<{ project: string }>(schedule.name, { batchSize: 10 });
    for (const job of jobs ?? []) {
      try {
        const run = await startTriggered(deps, job.data.project, undefined, undefined, 'schedule', `cron ${schedule.cron} (UTC)`);
        if (run) started.push(run);
      } catch (error) {
        deps.log.warn(`pipeline schedule of ${job.data.project}: ${(error as Error).message}`);
      } finally {
        await deps.queue.complete(schedule.name, job.id);
      }
    }
  }
  return started;
}

/**
 * Saves a project's pipeline settings and brings its cron schedule in line: made or changed when it has one, removed
 * when not. A cron the scheduler refuses is refused here, naming the field, before anything is saved.
 */
export async function savePipelineSettings(deps: HubDeps, caller: Caller, input: { project: string; settings: PipelineSettingsInput }): Promise<PipelineSettingsView> {
  const project = await getProject(deps, input.project);
  const cron = pipelineSettingsSchema.parse(input.settings).triggers.schedule;
  const queue = pipelineScheduleQueue(project.id);
  if (cron !== null) {
    if (!(await deps.queue.getQueue(queue))) await deps.queue.createQueue(queue, { name: queue, policy: 'standard' });
    try {
      await deps.queue.schedule(queue, cron.trim(), { project: project.slug }, { tz: 'UTC' });
    } catch (error) {
      throw badRequest(`settings.triggers.schedule: "${cron}" is not a schedule the hub can keep (${(error as Error).message.slice(0, 200)}); use five cron fields, e.g. "0 3 * * *"`);
    }
  } else {
    await deps.queue.unschedule(queue);
  }
  return setPipelineSettings(deps, caller, input);
}
