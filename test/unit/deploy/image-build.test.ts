/**
 * Performs the Dockerfile's steps without Docker: each stage is a scratch directory that receives
 * only what the stage COPYs, the `build` stage runs its own tsc and bundle commands, and the
 * runtime layout (the controller bundle, no node_modules) must start: `main.js --version`. The
 * bundle's start-up files (entry + statically imported chunks) must not hold the Azure SDK, which
 * is loaded on the first ARM call, nor client-node's unused generated APIs.
 *
 * One shortcut, stated: the build stage's full `npm ci` is the repository's own install from the
 * same lockfile, so the build scratch links the repository's node_modules instead of repeating it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import type { Metafile } from 'esbuild';
import { metafilePath, startupInputs } from '../../../hack/build/bundle.js';
import { copies, envOf, readDockerfile, runs, stage, type Stage } from './dockerfile.js';
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
  it('starts the controller from the runtime layout, which holds no node_modules', () => {
    const runtime = df.stages[df.stages.length - 1] as Stage;
    const entrypoint = JSON.parse(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '[]') as string[];
    const script = hostPath(runtime, entrypoint[1] ?? '');
    const env = { ...envOf(runtime), PATH: '/usr/bin:/bin', HOME: tmpdir() };
    const r = spawnSync(process.execPath, [script, '--version'], { cwd: tmpdir(), encoding: 'utf8', env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^MIC Version: \d+\.\d+\.\d+ - Commit: /);
  });

  it('ships the bundle with the license of every production dependency, and no sources, CRDs or node_modules', () => {
    const runtime = df.stages[df.stages.length - 1] as Stage;
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(existsSync(hostPath(runtime, 'node_modules'))).toBe(false);
    expect(existsSync(hostPath(runtime, 'dist/controller/node_modules'))).toBe(false);
    expect(existsSync(hostPath(runtime, 'controller'))).toBe(false);
    expect(existsSync(hostPath(runtime, 'crds'))).toBe(false);
    expect(existsSync(hostPath(runtime, 'dist/controller/main.js'))).toBe(true);
    expect(JSON.parse(readFileSync(hostPath(runtime, 'dist/controller/package.json'), 'utf8'))).toMatchObject({ type: 'module' });
    const licenses = readFileSync(hostPath(runtime, 'dist/controller/THIRD_PARTY_LICENSES.txt'), 'utf8');
    // Every production dependency has code in the bundle (@azure/logger: the SDK's log bridge).
    for (const [dep, version] of Object.entries(pkg.dependencies)) expect(licenses).toContain(`${dep}@${version} (`);
  });

  it('loads client-node and the logger at start-up, but not the Azure SDK (a chunk behind import()) nor unused client-node APIs', () => {
    const build = stage(df, 'build');
    const meta = JSON.parse(readFileSync(metafilePath(hostPath(build, 'dist/bundle/controller')), 'utf8')) as Metafile;
    const startup = startupInputs(meta, 'controller');
    const packages = new Set(startup.map((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(i)?.[1]).filter(Boolean));
    expect(packages.has('@kubernetes/client-node')).toBe(true);
    expect(packages.has('winston')).toBe(true);
    expect([...packages].filter((p) => p?.startsWith('@azure/'))).toEqual([]);
    expect(startup.some((i) => i.endsWith('client-node/dist/gen/apis/CoreV1Api.js'))).toBe(true);
    expect(startup.filter((i) => /client-node\/dist\/gen\/apis\/(AppsV1Api|BatchV1Api|StorageV1Api)\.js$/.test(i))).toEqual([]);
    const everything = Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs));
    expect(everything.some((i) => i.includes('node_modules/@azure/arm-compute/'))).toBe(true);
  });

  it('has a production tree without native or platform-specific packages (the bundle is plain JavaScript for any runtime platform)', () => {
    type Entry = { dev?: boolean; devOptional?: boolean; os?: unknown; cpu?: unknown; hasInstallScript?: boolean };
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Entry> };
    const platformBound = Object.entries(lock.packages)
      .filter(([path, e]) => path !== '' && !e.dev && !e.devOptional && (e.os !== undefined || e.cpu !== undefined || e.hasInstallScript))
      .map(([path]) => path);
    expect(platformBound).toEqual([]);
  });
});
