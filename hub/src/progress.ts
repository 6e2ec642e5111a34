import cliProgress from 'cli-progress';
import type { ProgressFn } from './datasets/ingest.service';
import type { Logger } from './logger';

/** A progress bar on a terminal; elsewhere (logs, CI) a line every 10%. */
export function progressBar(label: string): { update: ProgressFn; stop(): void } {
  if (!process.stderr.isTTY) {
    let lastDecile = -1;
    return {
      update(done, total) {
        const decile = Math.floor((done / Math.max(total, 1)) * 10);
        if (decile !== lastDecile) {
          lastDecile = decile;
          process.stderr.write(`${label}: ${done}/${total}\n`);
        }
      },
      stop() {},
    };
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

/** Progress of background work in the hub's log: a line every 10%. */
export function progressLogger(log: Logger, label: string): ProgressFn {
  let lastDecile = -1;
  return (done, total) => {
    const decile = Math.floor((done / Math.max(total, 1)) * 10);
    if (decile !== lastDecile) {
      lastDecile = decile;
      log.info(`${label}: ${done}/${total} (${decile * 10}%)`);
    }
  };
}
