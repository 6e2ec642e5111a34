/**
 * Reads a Dockerfile into its stages and instructions, enough for tests to check what it runs (no docker here).
 * Handles comments, `\` line continuations, `FROM image AS name`, and the exec (JSON array) form of
 * RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD. Parser directives (`# syntax=`) are comments to it.
 */

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ENV, ... */
  keyword: string;
  /** Everything after the keyword, continuations joined with one space. */
  args: string;
}

export interface Stage {
  /** The `AS` name, or the stage's index as text when it has none. */
  name: string;
  /** The image or stage it starts from (ARG references left as written). */
  from: string;
  instructions: Instruction[];
}

export function readDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    lines.push((pending + line).trim());
    pending = '';
  }
  if (pending.trim() !== '') lines.push(pending.trim());

  const stages: Stage[] = [];
  for (const line of lines) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (!match) continue;
    const keyword = match[1]!.toUpperCase();
    const args = match[2] ?? '';
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile: cannot read "FROM ${args}"`);
      stages.push({ name: from[2] ?? String(stages.length), from: from[1]!, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (keyword === 'ARG') continue; // ARGs before the first FROM parameterise the FROM lines
      throw new Error(`Dockerfile: ${keyword} before the first FROM`);
    }
    stage.instructions.push({ keyword, args });
  }
  return stages;
}

/** The words of an exec-form array (`["node", "x"]`), or of a shell-form command split on spaces. */
export function commandWords(args: string): string[] {
  const trimmed = args.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as string[];
  return trimmed.split(/\s+/).filter(Boolean);
}

/** The stage's instructions with `keyword`, following FROM <earlier stage> back to what it inherits. */
export function inherited(stages: Stage[], stage: Stage, keyword: string): Instruction[] {
  const parent = stages.find((s) => s.name === stage.from && s !== stage);
  const own = stage.instructions.filter((i) => i.keyword === keyword);
  return parent ? [...inherited(stages, parent, keyword), ...own] : own;
}

/** `KEY=value` pairs of ENV instructions (the `ENV KEY value` legacy form too), later ones winning. */
export function envOf(instructions: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions) {
    if (!args.includes('=')) {
      const [key, ...value] = args.split(/\s+/);
      if (key) env[key] = value.join(' ');
      continue;
    }
    for (const pair of args.match(/[A-Za-z_][A-Za-z0-9_]*=("[^"]*"|\S*)/g) ?? []) {
      const at = pair.indexOf('=');
      env[pair.slice(0, at)] = pair.slice(at + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

/** The command a stage's container runs: ENTRYPOINT (exec form) followed by CMD, inherited where not set. */
export function containerCommand(stages: Stage[], stage: Stage): string[] {
  const entrypoint = inherited(stages, stage, 'ENTRYPOINT').at(-1);
  const cmd = inherited(stages, stage, 'CMD').at(-1);
  return [...(entrypoint ? commandWords(entrypoint.args) : []), ...(cmd ? commandWords(cmd.args) : [])];
}

/** The words of a `HEALTHCHECK [options] CMD ...` instruction's command, or null for `HEALTHCHECK NONE`. */
export function healthcheckWords(args: string): string[] | null {
  const at = args.search(/(^|\s)CMD\s/);
  if (at < 0) return null;
  return commandWords(args.slice(args.indexOf('CMD', at) + 3));
}
