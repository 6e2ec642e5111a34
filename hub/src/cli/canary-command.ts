/**
 * `edgeloop canary start|promote|abort|status <project> <model>`: a channel's staged rollout through a running hub
 * (registry.canary.*), as CI or an engineer drives it.
 */
import { type Command, Option } from 'commander';
import type { CanaryGroup } from '../registry/canary.service';
import type { CanaryState } from '../registry/channel.service';
import { type RemoteOptions, remoteHub } from './remote-hub';

const percent = (share: number | null) => (share === null ? 'n/a' : `${(share * 100).toFixed(1)}%`);
const latency = (ms: number | null) => (ms === null ? 'n/a' : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);

/** The canary's state in lines: the groups side by side, the rollout check's verdict, the latest decision. */
export function formatCanaryState(state: CanaryState): string {
  const lines: string[] = [];
  if (!state.candidate) {
    lines.push(`${state.channel}: ${state.version === null ? 'no version yet' : `v${state.version} on every device`}; no canary running`);
  } else {
    lines.push(
      `${state.channel}: canary of v${state.candidate.version} on ${Math.round(state.candidate.share * 100)}% of devices since ${state.candidate.since}; v${state.version} on the rest`,
    );
  }
  if (state.groups) {
    const rows: [string, (g: CanaryGroup) => string][] = [
      ['version', (g) => `v${g.version}`],
      ['events', (g) => g.events.toLocaleString('en-US')],
      ['accuracy estimate', (g) => percent(g.accuracyEstimate)],
      ['accuracy from reviews', (g) => (g.reviews ? `${percent(g.reviews.estimate)} (${g.reviews.labels} labels)` : 'n/a')],
      ['p95 latency', (g) => latency(g.latencyP95Ms)],
      ['unreadable events', (g) => g.unreadable.toLocaleString('en-US')],
      ['open alerts', (g) => (g.openAlerts.length ? g.openAlerts.map((a) => a.detector).join(', ') : 'none')],
    ];
    const cells = [['', 'canary', 'production'], ...rows.map(([name, cell]) => [name, cell(state.groups!.canary), cell(state.groups!.production)])];
    const widths = [0, 1, 2].map((c) => Math.max(...cells.map((r) => r[c]!.length)));
    for (const row of cells) lines.push(`  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`);
  }
  if (state.verdict) {
    const acts = state.verdict.automatic ? 'the rollout check acts on it' : 'decided by hand (rollout.automatic is off)';
    lines.push(`  verdict now: ${state.verdict.decision} (${acts}): ${state.verdict.reason}`);
  }
  if (state.lastDecision) {
    const d = state.lastDecision;
    lines.push(`last decision: canary of v${d.version} ${d.decision} by ${d.by} at ${d.at}: ${d.reason}`);
  }
  return lines.join('\n');
}

const remote = (command: Command) =>
  command
    .option('--hub <url>', 'hub URL (default: EDGELOOP_HUB_URL or http://127.0.0.1:8787)')
    .option('--token <secret>', 'API token (default: EDGELOOP_TOKEN)')
    .option('--channel <name>', 'channel', 'production');

export function addCanaryCommand(program: Command): void {
  const canary = program.command('canary').description('staged rollout: a candidate version on a share of devices, then every device or none');
  remote(canary.command('start <project> <model>').description('send a version to a share of the channel\'s devices (each device decides by a stable hash of its id)'))
    .requiredOption('--version <n>', 'the candidate version')
    .option('--share <fraction>', 'share of devices, between 0 and 1 (e.g. 0.1 for 10%)', '0.1')
    .option('--reason <why>', 'why, for the channel history', 'canary started with edgeloop canary')
    .action(async (project: string, model: string, opts: RemoteOptions & { channel: string; version: string; share: string; reason: string }) => {
      const state = await remoteHub(opts).registry.canary.start.mutate({ project, model, channel: opts.channel, version: Number(opts.version), share: Number(opts.share), reason: opts.reason });
      console.log(formatCanaryState(state));
    });
  for (const decision of ['promote', 'abort'] as const) {
    remote(
      canary
        .command(`${decision} <project> <model>`)
        .description(decision === 'promote' ? 'promote the canary\'s candidate to every device' : 'end the canary: every device back on the current version'),
    )
      .addOption(new Option('--reason <why>', 'why, for the channel history').makeOptionMandatory())
      .option('--version <n>', 'the candidate you decide about: refused if another canary runs by now')
      .action(async (project: string, model: string, opts: RemoteOptions & { channel: string; reason: string; version?: string }) => {
        const state = await remoteHub(opts).registry.canary.decide.mutate({
          project,
          model,
          channel: opts.channel,
          decision,
          reason: opts.reason,
          ...(opts.version ? { version: Number(opts.version) } : {}),
        });
        console.log(formatCanaryState(state));
      });
  }
  remote(canary.command('status <project> <model>').description('where the channel\'s canary stands: canary vs production, the rollout check\'s verdict, the latest decision')).action(
    async (project: string, model: string, opts: RemoteOptions & { channel: string }) => {
      console.log(formatCanaryState(await remoteHub(opts).registry.canary.state.query({ project, model, channel: opts.channel })));
    },
  );
}
