import { defineConfig } from 'drizzle-kit';
import { loadEnv } from './hub/src/env';

// Migrations are generated from the schema and committed; the hub applies them at start.
const env = loadEnv();

export default defineConfig({
  dialect: 'postgresql',
  schema: './hub/src/db/schema.ts',
  out: './hub/drizzle',
  ...(env.DATABASE_URL ? { dbCredentials: { url: env.DATABASE_URL } } : {}),
});
