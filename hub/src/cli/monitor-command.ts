/**
 * `edgeloop monitor <project>`: the project's stream monitors as a running hub reports them (monitoring.state);
 * `edgeloop monitor-worker`: a process that takes monitor.update jobs.
 */
import type { Command } from 'commander';
import { loadEnv } from '../env';
import { openHub } from '../hub';
import { startMonitorWorker } from '../monitoring/monitor.job';
import type { AlertSummary, MonitorState, StreamState } from '../monitoring/monitor-query.service';
import { type RemoteOptions, remoteHub } from './remote-hub';

const percent = (share: number | null | undefined, digits = 1) => (share === null || share === undefined ? 'n/a' : `${(share * 100).toFixed(digits)}%`);
const count = (n: number) => n.toLocaleString('en-US');
const number = (value: number) => (Math.abs(value) >= 1000 ? value.toExponential(2) : value.toFixed(2));
const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/** Lines of a small table: columns padded to their widest cell, numbers right-aligned. */
function table(rows: string[][], indent: string): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((row) => indent + row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
}

function alertLines(alert: AlertSummary, indent: string): string[] {
  const { contributors } = alert.explanation;
  const who = (['devices', 'appVersions', 'backends'] as const)
    .map((kind) => ({ kind, list: contributors[kind].slice(0, 3) }))
    .filter(({ list }) => list.length)
    .map(({ kind, list }) => `${kind} ${list.map((c) => `${c.key} (${percent(c.windowShare, 0)} of the window vs ${percent(c.historyShare, 0)} before)`).join(', ')}`);
  return [
    `${indent}${alert.detector} since ${when(alert.openedAt)} (event ${count(alert.openedAtEvent)}): statistic ${number(alert.statistic)} > ${number(alert.threshold)}`,
    `${indent}  ${alert.explanation.effect}`,
    ...(who.length ? [`${indent}  contributors: ${who.join('; ')}`] : []),
  ];
}

function streamLines(stream: StreamState, labels: string[]): string[] {
  const lines = [
    `${stream.model} v${stream.version} (${stream.channel}): ${count(stream.events)} events, ${count(stream.admitted)} admitted${stream.updatedAt ? `, updated ${when(stream.updatedAt)}` : ', not processed yet'}`,
  ];
  const snapshot = stream.snapshot;
  if (!snapshot) return lines;
  const { accuracy } = snapshot;
  lines.push(
    `  estimated accuracy ${percent(accuracy.labelShiftCorrected ?? accuracy.expected)} (reference ${percent(accuracy.reference)}${accuracy.drop === null ? '' : `, drop ${accuracy.drop.toFixed(1)} points`})`,
  );
  const { reviews } = stream;
  const range = (e: { interval: [number, number] }) => `[${percent(e.interval[0])}, ${percent(e.interval[1])}]`;
  lines.push(
    reviews.ipw
      ? `  accuracy from ${count(reviews.labels)} reviews ${percent(reviews.ipw.estimate)} ${range(reviews.ipw)}${reviews.ppi ? `, with the label-free estimate ${percent(reviews.ppi.estimate)} ${range(reviews.ppi)}` : ''} (${count(reviews.pending)} waiting${reviews.unusable ? `, ${count(reviews.unusable)} unusable, not counted` : ''})`
      : `  no reviews yet (${count(reviews.pending)} waiting)`,
  );
  lines.push(...table([['detector', 'value', 'threshold', ''], ...stream.detectors.map((d) => [d.detector, number(d.value), number(d.threshold), d.alarm ? 'ALARM' : ''])], '  '));
  const mix = snapshot.classMix;
  if (mix.classes.length) {
    lines.push(`  class mix over the last ${count(mix.window)} events (total variation ${mix.totalVariation === null ? 'n/a' : mix.totalVariation.toFixed(3)}):`);
    lines.push(...table([['class', 'now', 'reference', ''], ...mix.classes.map((c) => [c.label, percent(c.observed), percent(c.expected), c.change ?? ''])], '    '));
  } else if (labels.length) lines.push('  class mix: no events in the window yet');
  lines.push(stream.openAlerts.length ? '  open alerts:' : '  no open alerts');
  for (const alert of stream.openAlerts) lines.push(...alertLines(alert, '    '));
  return lines;
}

/** The state as terminal lines. */
export function formatMonitorState(state: MonitorState): string {
  const day = state.lastDay;
  const lines = [
    `${state.project}: ${state.streams.length} stream${state.streams.length === 1 ? '' : 's'}; last 24 h: ${count(day.events)} events from ${count(day.deviceCount)} devices`,
  ];
  if (day.events > 0) {
    const share = (events: number) => percent(events / day.events, 0);
    lines.push(`  backends: ${day.backends.map((b) => `${b.key} ${share(b.events)}`).join(', ')}`);
    lines.push(`  app versions: ${day.appVersions.map((b) => `${b.key} ${share(b.events)}`).join(', ')}`);
    lines.push(`  latency: median ~${day.latency.p50Ms ?? 'n/a'} ms, p95 ~${day.latency.p95Ms?.toFixed(1) ?? 'n/a'} ms (bin lower edges)`);
  }
  for (const stream of state.streams) lines.push('', ...streamLines(stream, state.labels));
  if (!state.streams.length) lines.push('', 'no predictions synced yet: a stream starts with the first prediction of a model version');
  return lines.join('\n');
}

export function addMonitorCommand(program: Command): void {
  program
    .command('monitor-worker')
    .description('take monitor.update jobs from the queue (npm start runs one in-process unless MONITOR_WORKER=false; set DATABASE_URL to share a hub\'s database)')
    .option('--name <name>', 'worker name in the log (default host:pid)')
    .action(async (opts: { name?: string }) => {
      const hub = await openHub(loadEnv());
      const worker = await startMonitorWorker(hub.deps, opts.name ? { name: opts.name } : {});
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await worker.stop();
      await hub.close();
    });

  program
    .command('monitor <project>')
    .description('print the project\'s monitors: detectors against thresholds, open alerts with what moved, class mix, estimated accuracy')
    .option('--hub <url>', 'hub URL (default: EDGELOOP_HUB_URL or http://127.0.0.1:8787)')
    .option('--token <secret>', 'API token (default: EDGELOOP_TOKEN)')
    .option('--json', 'print monitoring.state as JSON')
    .action(async (project: string, opts: RemoteOptions & { json?: boolean }) => {
      const state = await remoteHub(opts).monitoring.state.query({ project });
      console.log(opts.json ? JSON.stringify(state, null, 2) : formatMonitorState(state));
    });
}
