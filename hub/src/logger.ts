const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Plain timestamped lines on stderr, so stdout stays free for command output. */
export function createLogger(level: LogLevel): Logger {
  const threshold = LEVELS.indexOf(level);
  const at = (lineLevel: Exclude<LogLevel, 'silent'>) => (message: string) => {
    if (LEVELS.indexOf(lineLevel) >= threshold) {
      process.stderr.write(`${new Date().toISOString()} ${lineLevel.padEnd(5)} ${message}\n`);
    }
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
