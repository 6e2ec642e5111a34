import { describe, expect, it } from 'vitest';
import { loadEnv } from './env';

describe('loadEnv', () => {
  it('falls back to the embedded defaults', () => {
    const env = loadEnv({});
    expect(env).toMatchObject({ HUB_PORT: 8787, HUB_HOST: '127.0.0.1', DEMO_PROJECT: true, S3_BUCKET: 'edgeloop' });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.S3_ENDPOINT).toBeUndefined();
    expect(env.dataDir).toMatch(/\.edgeloop$/);
  });

  it('names each bad variable and what it accepts', () => {
    expect(() => loadEnv({ HUB_PORT: '99999', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' })).toThrow(
      /HUB_PORT: .*\n.*DATABASE_URL: DATABASE_URL must start with postgres:\/\/.*\n.*LOG_LEVEL/,
    );
    expect(() => loadEnv({ S3_ENDPOINT: 'http://s3.local' })).toThrow(/S3_ENDPOINT needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/);
  });
});
