import { describe, expect, it } from 'vitest';
import { type LogFormat, type LogLevel, createLogger, currentRequestId, requestIdFrom, withRequestId } from './logger';

/** A logger writing into an array, one entry a line, as it would write to stderr. */
function capture(level: LogLevel, format: LogFormat) {
  const lines: string[] = [];
  const log = createLogger(level, { format, destination: { write: (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)) } });
  return { log, lines };
}

describe('logger', () => {
  it('writes one JSON object a line with time, level, message and fields', () => {
    const { log, lines } = capture('info', 'json');
    log.info('hub listening', { port: 8787 });
    log.warn('slow');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'info', msg: 'hub listening', port: 8787 });
    expect(new Date(first.time as string).toISOString()).toBe(first.time);
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'warn', msg: 'slow' });
  });

  it('writes readable lines in pretty format, not JSON', () => {
    const { log, lines } = capture('info', 'pretty');
    log.error('cdn /cdn/x: object store unavailable', { status: 502 });
    expect(lines[0]).toMatch(/ERROR.*cdn \/cdn\/x: object store unavailable/);
    expect(lines[0]).toMatch(/"status":502/);
    expect(() => JSON.parse(lines[0]!)).toThrow();
  });

  it('drops lines below its level, and every line when silent', () => {
    const warn = capture('warn', 'json');
    warn.log.debug('d');
    warn.log.info('i');
    warn.log.warn('w');
    warn.log.error('e');
    expect(warn.lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['w', 'e']);
    const silent = capture('silent', 'json');
    silent.log.error('e');
    expect(silent.lines).toEqual([]);
    const debug = capture('debug', 'json');
    debug.log.debug('d');
    expect(debug.lines).toHaveLength(1);
  });

  it('carries the request id on every line written inside a request, across awaits, and only there', async () => {
    const { log, lines } = capture('info', 'json');
    log.info('before');
    await withRequestId('req-1', async () => {
      log.info('start');
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(currentRequestId()).toBe('req-1');
      log.info('after an await');
    });
    log.info('after');
    const ids = lines.map((line) => (JSON.parse(line) as { requestId?: string }).requestId);
    expect(ids).toEqual([undefined, 'req-1', 'req-1', undefined]);
  });

  it('keeps a sane incoming request id and replaces any other', () => {
    expect(requestIdFrom('abc.DEF_1-2')).toBe('abc.DEF_1-2');
    expect(requestIdFrom(['first-id', 'second'])).toBe('first-id');
    const made = [undefined, '', 'a'.repeat(65), 'has space', 'x\ny', 'token=secret&'].map((header) => requestIdFrom(header));
    for (const id of made) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(made).size).toBe(made.length);
  });
});
