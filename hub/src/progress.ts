import cliProgress from 'cli-progress';
import type { ProgressFn } from './datasets/ingest.service';
import type { Logger } from './logger';

/** Calls `write` with a "label: done/total (p%)" line each time progress crosses another 10%. */
function everyTenPercent(label: string, write: (line: string) => void): ProgressFn {
  let lastDecile = -1;
  return (done, total) => {
    const decile = Math.floor((done / Math.max(total, 1)) * 10);
    if (decile !== lastDecile) {
      lastDecile = decile;
      write(`${label}: ${done}/${total} (${decile * 10}%)`);
    }
  };
}

/** A progress bar on a terminal; elsewhere (logs, CI) a line every 10%. */
export function progressBar(label: string): { update: ProgressFn; stop(): void } {
  if (!process.stderr.isTTY) {
    return { update: everyTenPercent(label, (line) => process.stderr.write(`${line}\n`)), stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop: () => bar.stop(),
  };
}

/** Progress of background work in the hub's log. */
export function progressLogger(log: Logger, label: string): ProgressFn {
  return everyTenPercent(label, (line) => log.info(line));
}
