/**
 * The hub's S3 API server (every request's SigV4 signature checked) as a process of its own: the object store of a
 * deployment whose hubs and workers set S3_ENDPOINT. Run with `node --import tsx hub/test/s3-server.process.ts`.
 * It reads the hub's settings: objects under <HUB_DATA_DIR>/s3, the bucket S3_BUCKET, signatures scoped to S3_REGION
 * and made with S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY, on 127.0.0.1:EMBEDDED_S3_PORT (0: a free port). Once it
 * listens it writes `s3 listening on <endpoint>` to stderr; SIGTERM or SIGINT closes it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { loadEnv } from '../src/env';
import { createS3ApiHandler } from '../src/storage/s3-api-server';

const env = loadEnv();
if (!env.S3_ACCESS_KEY_ID || !env.S3_SECRET_ACCESS_KEY) {
  process.stderr.write('the S3 server needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: the credentials its clients sign with\n');
  process.exit(2);
}
const handle = createS3ApiHandler({
  directory: path.join(env.dataDir, 's3'),
  bucket: env.S3_BUCKET,
  region: env.S3_REGION,
  credentials: { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY },
});
const server = http.createServer((req, res) => handle(req, res));
// Longer than the SDK's idle sockets live, so a client never writes into a connection the server is closing.
server.keepAliveTimeout = 30_000;
server.listen(env.EMBEDDED_S3_PORT, '127.0.0.1', () => {
  process.stderr.write(`s3 listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
const close = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', close);
process.once('SIGINT', close);
