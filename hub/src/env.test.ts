import { describe, expect, it } from 'vitest';
import { loadEnv } from './env';

describe('loadEnv', () => {
  it('falls back to the embedded defaults', () => {
    const env = loadEnv({});
    expect(env).toMatchObject({ HUB_PORT: 8787, HUB_HOST: '127.0.0.1', DEMO_PROJECT: true, S3_BUCKET: 'edgeloop' });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env).toMatchObject({ MIGRATE_ON_START: true, SHUTDOWN_GRACE_MS: 10_000 });
    expect(loadEnv({ MIGRATE_ON_START: 'false', SHUTDOWN_GRACE_MS: '0' })).toMatchObject({ MIGRATE_ON_START: false, SHUTDOWN_GRACE_MS: 0 });
    expect(env.S3_ENDPOINT).toBeUndefined();
    expect(env.dataDir).toMatch(/\.edgeloop$/);
    expect(env.keysDir).toBe(`${env.dataDir}/keys`);
  });

  it('keeps the signing keys where SIGNING_KEYS_DIR says', () => {
    expect(loadEnv({ HUB_DATA_DIR: '/var/lib/edgeloop', SIGNING_KEYS_DIR: '/run/secrets/edgeloop-keys' })).toMatchObject({ dataDir: '/var/lib/edgeloop', keysDir: '/run/secrets/edgeloop-keys' });
    expect(() => loadEnv({ SIGNING_KEYS_DIR: '' })).toThrow(/SIGNING_KEYS_DIR: SIGNING_KEYS_DIR must be a directory path/);
  });

  it('names each bad variable and what it accepts', () => {
    expect(() => loadEnv({ HUB_PORT: '99999', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' })).toThrow(
      /HUB_PORT: .*\n.*DATABASE_URL: DATABASE_URL must start with postgres:\/\/.*\n.*LOG_LEVEL/,
    );
    expect(() => loadEnv({ SHUTDOWN_GRACE_MS: '600001' })).toThrow(/SHUTDOWN_GRACE_MS: SHUTDOWN_GRACE_MS must be a whole number of milliseconds from 0 to 600000/);
    expect(() => loadEnv({ SHUTDOWN_GRACE_MS: 'soon' })).toThrow(/SHUTDOWN_GRACE_MS: SHUTDOWN_GRACE_MS must be/);
    expect(() => loadEnv({ MIGRATE_ON_START: 'yes' })).toThrow(/MIGRATE_ON_START: MIGRATE_ON_START must be true or false/);
    expect(() => loadEnv({ S3_ENDPOINT: 'http://s3.local' })).toThrow(/S3_ENDPOINT needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/);
  });

  it('takes how long a training run may go without a heartbeat, at least three heartbeats', () => {
    expect(loadEnv({}).TRAINING_STALE_AFTER_MS).toBe(30_000);
    expect(loadEnv({ TRAINING_STALE_AFTER_MS: '15000' }).TRAINING_STALE_AFTER_MS).toBe(15_000);
    for (const value of ['14999', '3600001', '20s']) {
      expect(() => loadEnv({ TRAINING_STALE_AFTER_MS: value })).toThrow(/TRAINING_STALE_AFTER_MS: TRAINING_STALE_AFTER_MS must be a whole number of milliseconds from 15000 \(three heartbeats\) to 3600000/);
    }
  });

  it('takes the worker\'s HTTP port; blank is unset (no HTTP), not a free port', () => {
    expect(loadEnv({}).WORKER_HTTP_PORT).toBeUndefined();
    expect(loadEnv({ WORKER_HTTP_PORT: '' }).WORKER_HTTP_PORT).toBeUndefined();
    expect(loadEnv({ WORKER_HTTP_PORT: '0' }).WORKER_HTTP_PORT).toBe(0);
    expect(loadEnv({ WORKER_HTTP_PORT: '8788' }).WORKER_HTTP_PORT).toBe(8788);
    for (const value of ['-1', '65536', 'http']) {
      expect(() => loadEnv({ WORKER_HTTP_PORT: value })).toThrow(/WORKER_HTTP_PORT: WORKER_HTTP_PORT must be a port number from 0 to 65535 \(or unset: the worker serves no HTTP\)/);
    }
  });

  it('takes a log format and a metrics token, naming the valid values when wrong', () => {
    expect(loadEnv({}).LOG_FORMAT).toBeUndefined();
    expect(loadEnv({ LOG_FORMAT: 'json' }).LOG_FORMAT).toBe('json');
    expect(() => loadEnv({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT: LOG_FORMAT must be one of: json, pretty/);
    expect(loadEnv({ METRICS_TOKEN: 'a-scraper-token-of-32-characters' }).METRICS_TOKEN).toBe('a-scraper-token-of-32-characters');
    expect(() => loadEnv({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN: METRICS_TOKEN must be at least 16 characters/);
  });
});
