/**
 * The Runs section's one source of a run's status: the page of runs the table shows and the open run both live here,
 * and whichever call reads a run last (the list's poll or the open run's) updates it for both, so the table never says
 * "queued" while the run says "running". Polls only while something on screen is queued or running.
 */
import type { HubClient, RouterOutputs } from '../../hub-client';
import { plainError } from '../plain-error';

export type RunSummary = RouterOutputs['runs']['list']['runs'][number];
export type RunPage = RouterOutputs['runs']['list'];
export type Run = RouterOutputs['runs']['get'];
export type RunStatus = RunSummary['status'];

const ACTIVE: readonly RunStatus[] = ['queued', 'running'];
export const isActive = (run: { status: RunStatus }) => ACTIVE.includes(run.status);

/** Poll intervals: the open run each second (its bar moves), the list every two while a run on it is going. */
const RUN_POLL_MS = 1_000;
const LIST_POLL_MS = 2_000;

export interface ListQuery {
  status?: RunStatus;
  cursor?: string;
  sweepId?: string;
}

export class RunStore {
  page = $state<RunPage | null>(null);
  listError = $state('');
  /** The open run, with epochs, evaluation, lineage and log. */
  open = $state<Run | null>(null);
  openError = $state('');

  #listTimer: ReturnType<typeof setTimeout> | undefined;
  #listToken = 0;
  #openToken = 0;

  readonly client: HubClient;
  readonly project: string;
  readonly pageSize: number;

  constructor(client: HubClient, project: string, pageSize = 25) {
    this.client = client;
    this.project = project;
    this.pageSize = pageSize;
  }

  /** The table's view of a run: the open run's fresher state where it is the same run. */
  row(run: RunSummary): RunSummary {
    const open = this.open;
    return open && open.id === run.id ? { ...run, status: open.status, progress: open.progress, loading: open.loading, metrics: open.metrics, finishedAt: open.finishedAt, startedAt: open.startedAt, cancelRequested: open.cancelRequested } : run;
  }

  /** Shows a page of runs and keeps it fresh while any run on it is queued or running. */
  async showList(query: ListQuery): Promise<void> {
    const token = ++this.#listToken;
    clearTimeout(this.#listTimer);
    try {
      const page = await this.client.runs.list.query({ project: this.project, limit: this.pageSize, ...query });
      if (token !== this.#listToken) return;
      this.page = page;
      this.listError = '';
      if (page.runs.some(isActive)) this.#listTimer = setTimeout(() => void this.showList(query), LIST_POLL_MS);
    } catch (e) {
      if (token === this.#listToken) this.listError = plainError(e, 'Loading the runs');
    }
  }

  /** Follows one run until it ends, each read also updating its row in the list. Returns a stop function. */
  follow(runId: string, onEnd?: () => void): () => void {
    const token = ++this.#openToken;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const run = await this.client.runs.get.query({ runId, logLines: 40 });
        if (token !== this.#openToken) return;
        const wasActive = this.open?.id === runId && isActive(this.open);
        this.open = run;
        this.openError = '';
        this.#patchRow(run);
        if (isActive(run)) timer = setTimeout(() => void poll(), RUN_POLL_MS);
        else if (wasActive) onEnd?.();
      } catch (e) {
        if (token === this.#openToken) this.openError = plainError(e, 'Loading the run');
      }
    };
    void poll();
    return () => {
      clearTimeout(timer);
      if (token === this.#openToken) {
        this.#openToken++;
        this.open = null;
      }
    };
  }

  /** Stops refreshing the list (the table left the screen). */
  stopList(): void {
    clearTimeout(this.#listTimer);
    this.#listToken++;
  }

  #patchRow(run: Run): void {
    if (!this.page) return;
    const i = this.page.runs.findIndex((r) => r.id === run.id);
    if (i >= 0) this.page.runs[i] = this.row(this.page.runs[i]!);
  }
}
