import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DATA_DIR, HUB_COMMAND, HUB_ENV_VARIABLES, HUB_PORT, LIVENESS_PATH, WORKER_COMMAND } from './deploy-contract';
import { type Stage, commandWords, containerCommand, envOf, healthcheckWords, inherited, readDockerfile } from './dockerfile-reader';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dockerfile = fs.readFileSync(path.join(root, 'hub/deploy/Dockerfile'), 'utf8');
const stages = readDockerfile(dockerfile);
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const scripts = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`the Dockerfile has no stage ${name}; it has ${stages.map((s) => s.name).join(', ')}`);
  return found;
};
const runs = (s: Stage) => inherited(stages, s, 'RUN').flatMap((i) => i.args.split('&&').map((c) => c.trim()));
/** The image `docker build` makes without --target: the last stage. */
const runtime = stages.at(-1)!;
/** `npm start` is "build the web apps && run the hub": the image does the first at build time, the second as its command. */
const startSteps = scripts.start!.split('&&').map((step) => step.trim());

describe('hub/deploy/Dockerfile', () => {
  it('builds with the commands the README documents: npm ci, then npm run build:web', () => {
    expect(readme).toContain('npm ci');
    expect(readme).toContain('`npm run build:web`');
    expect(scripts['build:web']).toBeDefined();
    const build = runs(stage('build'));
    const ci = build.findIndex((c) => c.startsWith('npm ci'));
    const web = build.indexOf('npm run build:web');
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(web).toBeGreaterThan(ci);
    // The web apps npm start builds are the ones the build stage builds.
    expect(startSteps[0]).toBe('npm run build:web');
  });

  it('runs the command npm start runs after building the web apps, as the default image\'s command', () => {
    expect(startSteps).toHaveLength(2);
    expect(containerCommand(stages, runtime).join(' ')).toBe(startSteps[1]);
    expect(containerCommand(stages, runtime)).toEqual([...HUB_COMMAND]);
    // The README's Commands table says what npm start runs: the image's command is that CLI command.
    const startRow = readme.split('\n').find((line) => line.startsWith('| `npm start` |'));
    expect(startRow).toContain(`\`edgeloop ${HUB_COMMAND[2]}\``);
    expect(containerCommand(stages, stage('gpu'))).toEqual([...WORKER_COMMAND]);
  });

  it('ships production dependencies only, installed apart from the build, and the built web apps', () => {
    const deps = runs(stage('deps')).find((c) => c.startsWith('npm ci'));
    expect(deps).toMatch(/--omit=dev/);
    const copies = inherited(stages, runtime, 'COPY').map((i) => i.args);
    // node_modules come from the production install, never from the build stage's full one.
    expect(copies).toContain('--from=deps /app ./');
    expect(copies.filter((c) => c.startsWith('--from=build'))).toEqual(['--from=build /app/web-client/dist web-client/dist']);
    // hub/src/main.ts serves web-client/dist two levels above its own folder.
    expect(fs.readFileSync(path.join(root, 'hub/src/main.ts'), 'utf8')).toContain("'../../web-client/dist'");
  });

  it('copies only paths that exist in the repository, and ignores what a checkout builds locally', () => {
    for (const s of stages) {
      for (const copy of s.instructions.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
        const sources = copy.args.split(/\s+/).filter((word) => !word.startsWith('--')).slice(0, -1);
        for (const source of sources) expect(fs.existsSync(path.join(root, source)), `${s.name}: COPY ${source}`).toBe(true);
      }
    }
    const ignored = fs.readFileSync(path.join(root, 'hub/deploy/Dockerfile.dockerignore'), 'utf8').split('\n');
    expect(ignored).toContain('**/node_modules');
    expect(ignored).toContain('web-client/dist');
  });

  it('runs as a user other than root in every image it makes', () => {
    for (const image of [runtime, stage('gpu')]) {
      const user = inherited(stages, image, 'USER').at(-1)?.args;
      expect(user, image.name).toBeDefined();
      expect(['root', '0', '0:0']).not.toContain(user);
    }
  });

  it('listens on every interface at the hub\'s port, exposes it, and keeps the data directory in a volume', () => {
    const env = envOf(inherited(stages, runtime, 'ENV'));
    expect(env.HUB_HOST).toBe('0.0.0.0');
    expect(Number(env.HUB_PORT)).toBe(HUB_PORT);
    expect(env.HUB_DATA_DIR).toBe(DATA_DIR);
    for (const image of [runtime, stage('gpu')]) {
      const names = Object.keys(envOf(inherited(stages, image, 'ENV'))).filter((name) => name !== 'NODE_ENV');
      expect(names.filter((name) => !HUB_ENV_VARIABLES.includes(name)), image.name).toEqual([]);
      expect(inherited(stages, image, 'VOLUME').flatMap((v) => commandWords(v.args))).toContain(DATA_DIR);
    }
    expect(inherited(stages, runtime, 'EXPOSE').map((e) => Number(e.args))).toEqual([HUB_PORT]);
  });

  it('checks health at the hub\'s liveness path on its own port (probes.test.ts runs the check against a real hub)', () => {
    const check = inherited(stages, runtime, 'HEALTHCHECK').at(-1);
    const words = healthcheckWords(check!.args);
    expect(words?.slice(0, 2)).toEqual(['node', '-e']);
    expect(words?.[2]).toContain(`'${LIVENESS_PATH}'`);
    expect(words?.[2]).toContain('process.env.HUB_PORT');
    // A worker serves no HTTP: no health check that could only fail.
    expect(inherited(stages, stage('gpu'), 'HEALTHCHECK')).toEqual([]);
  });
});
