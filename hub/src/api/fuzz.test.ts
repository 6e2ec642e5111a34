/**
 * Malformed input against every procedure, over real HTTP: wrong types, huge strings, NUL, lone surrogates, invalid
 * UTF-8 and bad JSON, deep nesting, out-of-range numbers, arrays where objects go, oversized batches, GET vs POST and
 * batching. Whatever arrives, the hub answers 4xx (or 2xx) with its own words: never a 5xx, never a query, a stack
 * or a path inside the hub. The generator is seeded, so a failure names a case that replays exactly.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { embeddingToBytes, mulberry32 } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { STORED_RUN_CONFIGS } from '../../test/published-version';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { datasetVersions, modelVersions, predictions, registeredModels, runs } from '../db/schema';
import { getProject } from '../projects/project.service';
import { createHubServer, listen } from '../server';
import { appRouter } from './app.router';

const SEED = 0x5eed_0009;
const CASES = 10_000;
const CONCURRENCY = 6;

/** Text that only the hub's internals would write: SQL, driver messages, stack frames, source paths. */
const INTERNAL_TEXT = [/failed query/i, /\bselect\s/i, /insert into/i, /\bparams:/i, /\n\s+at\s/, /\bat [\w.<>]+ \(.*:\d+:\d+\)/, /file:\/\/|node:internal/, /node_modules/, /\.ts:\d+/, /postgres|pglite/i];

type ProcedureType = 'query' | 'mutation';
const PROCEDURES = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: ProcedureType; inputs: unknown[] } }>).map(([name, p]) => ({
  name,
  type: p._def.type,
  inputs: p._def.inputs,
}));

/**
 * Every field path of an input schema ("before.createdAt"), optional ones included: mutations only reach fields the
 * base input has, so each must be there. Looks through optional, default and nullable wrappers.
 */
function schemaPaths(schema: unknown, prefix = ''): string[] {
  let inner = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault || inner instanceof z.ZodNullable) inner = inner.unwrap();
  if (!(inner instanceof z.ZodObject)) return [];
  return Object.entries(inner.shape as Record<string, unknown>).flatMap(([key, field]) => [`${prefix}${key}`, ...schemaPaths(field, `${prefix}${key}.`)]);
}

/** Reproducible choices from the shared seeded generator. */
function rng(seed: number) {
  const next = mulberry32(seed);
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}
type Rng = ReturnType<typeof rng>;

const UUID = '3f1c1e7e-8a53-4b1f-9f3e-2f4a1c0d9b7a';
const SHA = 'ab'.repeat(32);

/** A well-formed input per procedure, so mutations reach the services and the database, not only the zod schemas. */
function baseInputs(known: { predictionId: string }): Record<string, unknown> {
  const prediction = {
    id: UUID,
    model: 'pets',
    version: 1,
    backend: 'webgpu',
    latencyMs: 3,
    top: [{ label: 'dog', probability: 0.9 }, { label: 'cat', probability: 0.1 }],
    embedding: [0.5, -1.25, 3],
    source: 'file',
    createdAt: '2026-11-20T10:00:00Z',
  };
  return {
    'auth.createToken': { name: 'fuzz', role: 'device', projects: ['pets'] },
    'auth.revokeToken': { id: UUID },
    'auth.listTokens': { status: 'active', limit: 5, offset: 0 },
    'devices.seen': { project: 'pets', days: 7, backend: 'webgl', limit: 5, offset: 0 },
    // The fixture's version has no published files: its manifest is missing (a 409 in words).
    'registry.files': { project: 'pets', model: 'pets', version: 1 },
    'registry.publishedFrom': { runId: UUID },
    'projects.get': { project: 'pets' },
    'projects.create': { slug: 'fuzz-project', name: 'Fuzz', labels: ['a', 'b'], maxImagePixels: 4096 * 4096 },
    'items.list': { project: 'pets', label: 'cat', split: 'train', after: SHA, limit: 10 },
    'items.update': { project: 'pets', sha256: SHA, label: 'cat', split: 'val' },
    'items.remove': { project: 'pets', sha256: SHA },
    'items.browse': { project: 'pets', version: SHA, label: 'cat', split: 'train', source: 'upload', page: 2, pageSize: 10 },
    'items.history': { project: 'pets', sha256: SHA },
    'items.restore': { project: 'pets', sha256: SHA, label: 'cat', split: 'val', source: 'upload' },
    'items.createUpload': { project: 'pets', sha256: SHA, bytes: 100, contentType: 'image/png', label: 'cat', split: 'train' },
    'items.completeUpload': { uploadId: UUID, predictionId: known.predictionId, source: 'review' },
    'datasets.commit': { project: 'pets', message: 'fuzz' },
    'datasets.list': { project: 'pets' },
    'datasets.get': { project: 'pets', version: SHA },
    'datasets.diff': { project: 'pets', from: SHA, to: SHA, limit: 5, offset: 5, images: true },
    'datasets.activity': { project: 'pets' },
    'datasets.export': { project: 'pets', version: SHA },
    'runs.create': { project: 'pets', datasetVersion: SHA, model: { architecture: 'reference-cnn' }, train: { epochs: 1 } },
    'runs.list': { project: 'pets', limit: 5, cursor: UUID, status: 'succeeded', sweepId: UUID },
    'runs.get': { runId: UUID, logLines: 5 },
    'runs.cancel': { runId: UUID },
    // Random, with one sample: the values not drawn reach the database only as the stored space.
    'runs.sweep': {
      project: 'pets',
      datasetVersion: SHA,
      model: { architecture: 'reference-cnn' },
      train: { epochs: 1 },
      space: { learningRate: [0.1, 0.01, 0.001], batchSize: [16, 32] },
      strategy: 'random',
      samples: 1,
      metric: 'valAccuracy',
    },
    'runs.sweepBest': { project: 'pets', sweepId: UUID, metric: 'valLoss' },
    'registry.publish': { runId: UUID, model: 'pets', maxQuantizationDrop: 1 },
    'registry.models': { project: 'pets' },
    'registry.versions': { project: 'pets', model: 'pets' },
    'registry.promote': { project: 'pets', model: 'pets', channel: 'staging', version: 7, reason: 'fuzz' },
    'registry.rollback': { project: 'pets', model: 'pets', channel: 'staging', reason: 'fuzz', to: 1 },
    'registry.rollbackTarget': { project: 'pets', model: 'pets', channel: 'staging' },
    'registry.channel': { project: 'pets', model: 'pets', channel: 'production' },
    // A model with no versions: predicting with the fixture's fake version would read files that were never published.
    'registry.predict': { project: 'pets', model: 'no-such-model', channel: 'production', version: 1, imageBase64: 'aGVsbG8=', topK: 3 },
    'registry.canary.start': { project: 'pets', model: 'pets', channel: 'staging', version: 7, share: 0.1, reason: 'fuzz' },
    'registry.canary.decide': { project: 'pets', model: 'pets', channel: 'staging', decision: 'abort', reason: 'fuzz', version: 7 },
    'registry.canary.state': { project: 'pets', model: 'pets', channel: 'production' },
    'feedback.syncPredictions': { project: 'pets', predictions: [prediction] },
    'feedback.syncCorrections': { project: 'pets', corrections: [{ id: UUID, predictionId: known.predictionId, label: 'cat', createdAt: '2026-11-20T10:01:00Z', assignmentId: UUID }] },
    'feedback.predictions': { project: 'pets', uncorrected: false, before: { createdAt: '2026-11-20T10:00:00Z', id: UUID }, limit: 5 },
    // The fixture's version has no published files: asking for its profile starts one (no worker here takes the job).
    'monitoring.profile': { project: 'pets', model: 'pets', version: 1 },
    'feedback.nextReviews': { project: 'pets', limit: 5, predictionIds: [known.predictionId, UUID] },
    'monitoring.state': { project: 'pets' },
    'monitoring.series': { project: 'pets', model: 'pets', version: 1, channel: 'production', detector: 'classMix', from: '2026-11-20T10:00:00Z', to: '2026-11-21T10:00:00Z', maxPoints: 100 },
    'monitoring.alerts': { project: 'pets', status: 'open', limit: 10 },
    'monitoring.settings.get': { project: 'pets' },
    'monitoring.testWebhook': { project: 'pets' },
    'pipeline.settings.get': { project: 'pets' },
    'pipeline.settings.set': {
      project: 'pets',
      settings: {
        model: 'pets',
        channel: 'production',
        triggers: { alertOpenMinutes: 30, newReviews: 300, schedule: '0 3 * * *' },
        holdout: { share: 0.3, minItems: 30 },
        training: { warmStart: true },
        gate: { minHoldoutGain: 1, alpha: 0.05, maxBaseTestLoss: 1, maxClassRecallDrop: 5 },
        rollout: { canaryShare: 0.1, minCanaryEvents: 200, maxAccuracyDrop: 2, maxLatencyRatio: 1.5, automatic: true },
      },
    },
    // The fixture's model has a version but no channel pointing to it: start is refused after validation.
    'pipeline.start': { project: 'pets', model: 'pets', channel: 'production', note: 'fuzz' },
    'pipeline.list': { project: 'pets', limit: 5, offset: 0 },
    'pipeline.get': { pipelineRunId: UUID, logLines: 5 },
    'pipeline.resume': { pipelineRunId: UUID },
    'pipeline.cancel': { pipelineRunId: UUID },
    'monitoring.settings.set': { project: 'pets', minTotalVariation: 0.1, minAccuracyDrop: 2, deviceCap: 0.2, reviewRate: 0.1, uniformShare: 0.4, webhookUrl: 'https://hooks.example.com/edgeloop' },
    'labeling.settings.get': { project: 'pets' },
    'labeling.settings.set': { project: 'pets', collectReviewedImages: true, acceptance: { agreement: 2, trustedLabelers: ['fuzz-labeler'] } },
    'labeling.queue': { project: 'pets', limit: 5 },
    'labeling.inbox': { project: 'pets', status: 'pending', before: { createdAt: '2026-11-20T10:00:00Z', id: UUID }, limit: 5 },
    // label and unusable together are refused (exactly one): mutations that drop one of them reach the service.
    'labeling.vote': { project: 'pets', itemId: UUID, label: 'cat', unusable: true },
    'labeling.decide': { project: 'pets', itemId: UUID, decision: 'accept', label: 'cat' },
    'labeling.imageUrl': { project: 'pets', itemId: UUID },
  };
}

const nest = (depth: number, leaf: unknown, asArray: boolean): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
};

/**
 * Values that have broken servers before, by kind. Numbers JSON cannot carry (NaN, Infinity) go as strings and as raw
 * 1e999. A field is given a value of its own kind more often than not, so each field's own edge cases (a version past
 * PostgreSQL's integer, a date-time it cannot store) come up in every run, not once in a while.
 */
function badValues(r: Rng): { text: (() => unknown)[]; number: (() => unknown)[]; other: (() => unknown)[] } {
  return {
    text: [
      () => '',
      () => 'a\u0000b',
      () => '\u0000',
      () => 'x'.repeat(r.pick([65, 257, 5_000, 100_000])),
      () => '\ud800',
      () => 'caf\u00e9 \u{1f600} \u202e',
      () => "'; drop table projects; --",
      () => '%00%ff',
      () => 'NaN',
      () => 'Infinity',
      () => '-Infinity',
      () => '1e300',
      () => ' ',
      () => '\n\t',
      () => '../../etc/passwd',
      () => '0000-01-01T00:00:00Z', // date-times PostgreSQL cannot store
      () => '-000001-01-01T00:00:00Z',
      () => '+275760-09-13T00:00:00Z',
    ],
    number: [
      () => 1e300,
      () => -1e300,
      () => 5e-324,
      () => 3.5e38,
      () => -0,
      () => 2 ** 53 + 1,
      () => 2 ** 31, // one past PostgreSQL's integer
      () => 2 ** 32,
      () => -(2 ** 31) - 1,
      () => -1,
      () => 0,
      () => 1.5,
      () => Number.MAX_VALUE,
    ],
    other: [
      () => null,
      () => true,
      () => false,
      () => [],
      () => {},
      () => [1, 'two', null],
      () => Array.from({ length: r.pick([600, 3_000]) }, (_, i) => i),
      () => nest(r.pick([50, 1_000]), 'deep', r.next() < 0.5),
      () => ({ __proto__: { admin: true }, constructor: { prototype: 1 } }),
      () => ({ toString: 'x', valueOf: 1 }),
    ],
  };
}

/** A bad value to put where `like` was: usually one of the same kind, otherwise any. */
function badValue(r: Rng, like?: unknown): unknown {
  const values = badValues(r);
  const own = typeof like === 'number' ? values.number : typeof like === 'string' ? values.text : null;
  return r.pick(own && r.next() < 0.6 ? own : [...values.text, ...values.number, ...values.other])();
}

/** Every path to a value inside `input` (objects and arrays), the root included. */
function paths(input: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(input)) input.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (input && typeof input === 'object') for (const [k, v] of Object.entries(input)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function mutate(r: Rng, base: unknown): unknown {
  let input: unknown = structuredClone(base);
  const rounds = 1 + r.int(3);
  for (let round = 0; round < rounds; round++) {
    const all = paths(input);
    const at = r.pick(all);
    if (at.length === 0) {
      input = r.next() < 0.15 ? undefined : badValue(r, input);
      continue;
    }
    let parent = input as Record<string | number, unknown>;
    for (const key of at.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    const key = at[at.length - 1]!;
    const replacement = r.next() < 0.15 ? undefined : badValue(r, parent[key]);
    if (replacement === undefined && !Array.isArray(parent)) delete parent[key];
    else parent[key] = replacement;
  }
  if (r.next() < 0.1 && input && typeof input === 'object' && !Array.isArray(input)) (input as Record<string, unknown>)[r.pick(['extra', '__proto__', 'constructor'])] = badValue(r);
  return input;
}

interface FuzzRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
  token: 'admin' | 'device';
  what: string;
}

function callOf(method: 'GET' | 'POST', procedurePath: string, text: string, what: string, token: FuzzRequest['token']): FuzzRequest {
  return method === 'GET'
    ? { method, path: `/trpc/${procedurePath}${procedurePath.includes('?') ? '&' : '?'}input=${encodeURIComponent(text)}`, token, what }
    : { method, path: `/trpc/${procedurePath}`, body: text, headers: { 'content-type': 'application/json' }, token, what };
}

/** A call the way a tRPC client makes it: queries as GET, unless the input is too long for a URL (POST, answered 405). */
function naturalCall(procedure: (typeof PROCEDURES)[number], input: unknown, token: FuzzRequest['token']): FuzzRequest {
  const json = JSON.stringify(input) ?? '';
  // GET inputs live in the URL, which Node caps at 16 KiB of headers.
  const method = procedure.type === 'query' && json.length <= 6_000 ? 'GET' : 'POST';
  return callOf(method, procedure.name, json, `${procedure.name} ${json.slice(0, 200)}`, token);
}

/**
 * One call per field of every base input and per edge value of that field's kind, all else well-formed: each field
 * meets each of its kind's edge values once in every run, where random mutations reach a given pair only by chance.
 */
function singleFieldCalls(r: Rng, bases: Record<string, unknown>): FuzzRequest[] {
  const values = badValues(r);
  return PROCEDURES.flatMap((procedure) => {
    const base = bases[procedure.name];
    return paths(base).flatMap((at) => {
      if (at.length === 0) return [];
      const leaf = at.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], base);
      // Number fields get text no database stores too: a field that takes any value (a sweep's space) must still check it.
      const kind = typeof leaf === 'number' ? [...values.number, () => '\u0000', () => '\ud800'] : typeof leaf === 'string' ? values.text : [];
      return kind.map((make) => {
        const input = structuredClone(base) as Record<string | number, unknown>;
        const parent = at.slice(0, -1).reduce<Record<string | number, unknown>>((v, k) => v[k] as Record<string | number, unknown>, input);
        parent[at[at.length - 1]!] = make();
        return naturalCall(procedure, input, 'admin');
      });
    });
  });
}

/** One generated request. Most send a mutated input the way tRPC clients do; the rest break the encoding or the envelope. */
function generate(r: Rng, bases: Record<string, unknown>): FuzzRequest {
  const token = r.next() < 0.2 ? 'device' : 'admin';
  const procedure = r.pick(PROCEDURES);
  const input = mutate(r, bases[procedure.name] ?? {});
  const json = JSON.stringify(input) ?? '';
  const roll = r.next();
  const send = (method: 'GET' | 'POST', procedurePath: string, text: string, what: string) => callOf(method, procedurePath, text, what, token);
  const natural = procedure.type === 'query' ? 'GET' : 'POST';
  if (roll < 0.62) return naturalCall(procedure, input, token);
  if (roll < 0.67) return send(natural === 'GET' ? 'POST' : 'GET', procedure.name, json.slice(0, 6_000), `${procedure.name} wrong method`);
  if (roll < 0.77) {
    // A batch of 1-12 calls of the same type (the cap is 10), each with its own mutated input.
    const same = PROCEDURES.filter((p) => p.type === procedure.type);
    const calls = Array.from({ length: 1 + r.int(12) }, () => r.pick(same));
    const inputs = Object.fromEntries(calls.map((c, i) => [i, mutate(r, bases[c.name] ?? {})]));
    const text = JSON.stringify(inputs);
    const method = natural === 'GET' && text.length > 6_000 ? 'POST' : natural;
    return send(method, `${calls.map((c) => c.name).join(',')}?batch=1`, text, `batch ${calls.map((c) => c.name).join(',')} ${text.slice(0, 200)}`);
  }
  if (roll < 0.8) {
    // An oversized batch: the hub answers with the cap, whatever the calls are.
    const calls = Array.from({ length: 11 + r.int(1_200) }, () => procedure.name);
    const method = natural === 'GET' && calls.length > 200 ? 'POST' : natural;
    return send(method, `${calls.join(',')}?batch=1`, '{}', `batch of ${calls.length} ${procedure.name}`);
  }
  const broken: (() => { body: Buffer | string; type?: string; what: string })[] = [
    () => ({ body: json.slice(0, Math.max(1, r.int(json.length))), what: 'truncated JSON' }),
    () => ({ body: Buffer.concat([Buffer.from('{"project":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}')]), what: 'invalid UTF-8' }),
    () => ({ body: json.replace(/\d+(\.\d+)?/, '1e999'), what: 'number parsed to Infinity' }),
    () => ({ body: json.replace(/\d+(\.\d+)?/, '-1e999'), what: 'number parsed to -Infinity' }),
    () => ({ body: '['.repeat(r.pick([1_000, 100_000])) + ']'.repeat(r.pick([0, 1_000])), what: 'deep nesting' }),
    () => ({ body: `\ufeff${json}`, what: 'byte order mark' }),
    () => ({ body: json, type: r.pick(['text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/octet-stream', '']), what: 'content type' }),
    () => ({ body: '--x\r\nContent-Disposition: form-data; name="project"\r\n\r\npets\r\n--x--\r\n', type: 'multipart/form-data; boundary=x', what: 'multipart' }),
    () => ({ body: JSON.stringify({ 0: input, 1: input }), what: 'batch-shaped body without batch=1' }),
    () => ({ body: 'null', what: 'null body' }),
    () => ({ body: '', what: 'empty body' }),
    () => ({ body: `{"project":"pets","x":"${'a'.repeat(3 * 1024 * 1024)}"}`, what: '3 MiB body' }),
  ];
  const b = r.pick(broken)();
  return {
    method: 'POST',
    path: `/trpc/${procedure.name}`,
    body: b.body,
    headers: b.type === undefined ? { 'content-type': 'application/json' } : b.type ? { 'content-type': b.type } : {},
    token,
    what: `${procedure.name} ${b.what}`,
  };
}

function request(port: number, req: FuzzRequest, secret: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
    const outgoing = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.path, headers: { ...req.headers, authorization: `Bearer ${secret}`, ...(body ? { 'content-length': body.length } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('fuzz bases', () => {
  it('hold every field of every procedure input, optional ones too', () => {
    const bases = baseInputs({ predictionId: UUID });
    const has = (input: unknown, path: string) => path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' && k in v ? (v as Record<string, unknown>)[k] : undefined), input) !== undefined;
    const missing = PROCEDURES.flatMap((p) => {
      const fields = p.inputs.flatMap((schema) => schemaPaths(schema));
      if (p.inputs.length > 0 && !(p.name in bases)) return [`${p.name} (no base input)`];
      return fields.filter((field) => !has(bases[p.name], field)).map((field) => `${p.name}.${field}`);
    });
    expect(missing).toEqual([]);
  });
});

describe('malformed input over HTTP', () => {
  let hub: TestHub;
  let port: number;
  let server: http.Server;
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-fuzz-web-'));
  const secrets: Record<'admin' | 'device', string> = { admin: '', device: '' };
  let bases: Record<string, unknown>;

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'pets', labels: ['cat', 'dog', 'bird'] });
    const predictionId = await seedPublishedVersionAndPrediction(hub);
    bases = baseInputs({ predictionId });
    secrets.admin = await hub.secretFor('admin');
    secrets.device = await hub.secretFor('device');
    server = createHubServer(hub.deps, { webRoot });
    ({ port } = await listen(server, 0, '127.0.0.1'));
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await hub?.close();
    fs.rmSync(webRoot, { recursive: true, force: true });
  });

  it(`answers ${CASES} generated malformed requests across every procedure without a 5xx or internal text`, { timeout: 180_000 }, async () => {
    const r = rng(SEED);
    const single = singleFieldCalls(r, bases);
    expect(single.length).toBeLessThan(CASES / 2); // random cases stay the larger part
    const requests = [...single, ...Array.from({ length: CASES - single.length }, () => generate(r, bases))];
    // Every procedure gets its share, and the device token is used too.
    for (const p of PROCEDURES) expect(requests.filter((q) => q.path.startsWith(`/trpc/${p.name}`)).length, p.name).toBeGreaterThan(20);
    expect(requests.filter((q) => q.token === 'device').length).toBeGreaterThan((CASES - single.length) / 10);

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const index = next++;
          const req = requests[index]!;
          const { status, body } = await request(port, req, secrets[req.token]);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          const leak = INTERNAL_TEXT.find((pattern) => pattern.test(body));
          if (status >= 500 || leak) failures.push(`#${index} ${req.method} ${req.what.slice(0, 160)} -> ${status}${leak ? ` (leaks ${leak})` : ''}: ${body.slice(0, 300)}`);
        }
      }),
    );
    expect(failures.slice(0, 25), `${failures.length} failures; statuses ${JSON.stringify(Object.fromEntries(statuses))}`).toEqual([]);
    // The generator reached past validation: some calls succeeded, and most were refused as the caller's fault.
    expect((statuses.get(200) ?? 0) + (statuses.get(400) ?? 0)).toBeGreaterThan(CASES / 2);
  });
});

/** A model version row and one prediction to correct, written directly: the fuzz is about input, not training. */
async function seedPublishedVersionAndPrediction(hub: TestHub): Promise<string> {
  const { id: projectId } = await getProject(hub.deps, 'pets');
  const datasetVersionId = crypto.randomBytes(32).toString('hex');
  await hub.deps.db.insert(datasetVersions).values({ id: datasetVersionId, projectId, message: 'm', itemCount: 0, counts: {}, manifestBytes: 0, createdBy: 'test' });
  const [run] = await hub.deps.db.insert(runs).values({ projectId, datasetVersionId, status: 'succeeded', ...STORED_RUN_CONFIGS, createdBy: 'test' }).returning();
  const [model] = await hub.deps.db.insert(registeredModels).values({ projectId, name: 'pets', createdBy: 'test' }).returning();
  const [version] = await hub.deps.db
    .insert(modelVersions)
    .values({ modelId: model!.id, version: 1, runId: run!.id, manifestKey: 'cdn/pets/pets/v1/manifest.json', manifestSha256: 'a'.repeat(64), recommended: 'uint8', formats: {}, metrics: {}, createdBy: 'test' })
    .returning();
  const id = crypto.randomUUID();
  await hub.deps.db.insert(predictions).values({
    id,
    projectId,
    modelVersionId: version!.id,
    label: 'dog',
    confidence: 0.9,
    topK: [{ label: 'dog', probability: 0.9 }],
    embedding: embeddingToBytes([1, 2, 3]),
    backend: 'webgpu',
    latencyMs: 1,
    source: 'file',
    sentBy: 'test',
    createdAt: new Date('2026-11-20T10:00:00Z'),
  });
  return id;
}
