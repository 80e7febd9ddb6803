/** Test helpers: a small Dockerfile reader (stages, instructions, COPY sources) and the .dockerignore allow-list. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './load.js';

/** One instruction: keyword (upper case) and the rest of the line, continuations joined. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** One build stage: `FROM [--platform=...] <image> AS <name>` and its instructions. */
export interface Stage {
  name: string;
  image: string;
  platform?: string;
  instructions: Instruction[];
}

/** A parsed `COPY [--from=stage] <src...> <dest>`. */
export interface CopyStep {
  from?: string;
  sources: string[];
  dest: string;
}

/** Global ARG defaults (before the first FROM). */
export interface Dockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

/** Parses the repository's Dockerfile. */
export function readDockerfile(text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')): Dockerfile {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const keyword = (m[1] ?? '').toUpperCase();
    const rest = (m[2] ?? '').replace(/\s+/g, ' ').trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=(\S+) )?(\S+)(?: AS (\S+))?$/i.exec(rest);
      if (!from) throw new Error(`unreadable FROM: ${rest}`);
      stages.push({ name: from[3] ?? String(stages.length), image: from[2] ?? '', ...(from[1] ? { platform: from[1] } : {}), instructions: [] });
    } else if (stages.length === 0) {
      if (keyword === 'ARG') {
        const [name, value = ''] = rest.split('=', 2);
        args[name ?? ''] = value;
      }
    } else {
      stages[stages.length - 1]?.instructions.push({ keyword, args: rest });
    }
  }
  return { args, stages };
}

/** The stage called `name`; throws when absent. */
export function stage(df: Dockerfile, name: string): Stage {
  const found = df.stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
}

/** Resolves `${ARG}` in an image reference from the global ARG defaults. */
export function resolveImage(df: Dockerfile, image: string): string {
  return image.replace(/\$\{(\w+)\}/g, (_, name: string) => df.args[name] ?? '');
}

/** The COPY steps of a stage. */
export function copies(s: Stage): CopyStep[] {
  return s.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const words = i.args.split(' ');
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      return { ...(from ? { from } : {}), sources: paths.slice(0, -1), dest: paths[paths.length - 1] ?? '' };
    });
}

/** The variables a stage's ENV instructions set (`ENV A=1 B=2` form). */
export function envOf(s: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of s.instructions.filter((x) => x.keyword === 'ENV')) {
    for (const pair of i.args.split(' ')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`unreadable ENV: ${i.args}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The shell commands of a stage's RUN instructions. */
export function runs(s: Stage): string[] {
  return s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
}

/** The `.dockerignore` allow-list: the paths re-included after a leading `*`. */
export function dockerignoreAllowList(text = readFileSync(join(ROOT, '.dockerignore'), 'utf8')): string[] {
  const entries = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (entries[0] !== '*') throw new Error('.dockerignore must start with "*" (allow-list)');
  return entries.slice(1).map((e) => {
    if (!e.startsWith('!')) throw new Error(`.dockerignore: unexpected exclusion after "*": ${e}`);
    return e.slice(1).replace(/\/$/, '');
  });
}
