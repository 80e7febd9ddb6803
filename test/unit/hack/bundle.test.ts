/** The production bundle's pure helpers (hack/build/bundle.ts) and the bench's malloc variables. */
import { describe, expect, it } from '@jest/globals';
import type { Metafile } from 'esbuild';
import { isBundleName, metafilePath, packageDirOf, startupInputs } from '../../../hack/build/bundle.js';
import { CONTROLLER_MALLOC_ENV, controllerMallocEnv } from '../../../hack/bench/controller-child.js';

type Output = Metafile['outputs'][string];

function output(inputs: Record<string, number>, imports: Output['imports'], entryPoint?: string): Output {
  return {
    bytes: 1,
    exports: [],
    imports,
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, n]) => [k, { bytesInOutput: n }])),
    ...(entryPoint ? { entryPoint } : {}),
  };
}

describe('startupInputs', () => {
  const meta: Metafile = {
    inputs: {},
    outputs: {
      'out/main.js': output({ 'dist/controller/main.js': 10 }, [
        { path: 'out/chunks/a.js', kind: 'import-statement' },
        { path: 'node:fs', kind: 'import-statement', external: true },
        { path: 'out/chunks/cloud.js', kind: 'dynamic-import' },
      ], 'dist/controller/main.js'),
      'out/chunks/a.js': output({ 'node_modules/@kubernetes/client-node/dist/gen/apis/CoreV1Api.js': 5, 'node_modules/x/unused.js': 0 }, [
        { path: 'out/chunks/b.js', kind: 'import-statement' },
      ]),
      'out/chunks/b.js': output({ 'node_modules/winston/lib/winston.js': 3 }, []),
      'out/chunks/cloud.js': output({ 'node_modules/@azure/arm-compute/dist/index.js': 7 }, [
        { path: 'out/chunks/b.js', kind: 'import-statement' },
      ], 'dist/controller/app/cloud.js'),
    },
  };

  it('follows static imports from the entry, not import() chunks, and skips inputs with no code left', () => {
    expect(startupInputs(meta, 'controller')).toEqual([
      'dist/controller/main.js',
      'node_modules/@kubernetes/client-node/dist/gen/apis/CoreV1Api.js',
      'node_modules/winston/lib/winston.js',
    ]);
  });

  it('refuses a metafile without the bundle entry', () => {
    expect(() => startupInputs(meta, 'bench')).toThrow(/hack\/bench\/mic-process\.js/);
  });
});

describe('bundle helpers', () => {
  it('finds the package of an input, nested and scoped ones included', () => {
    expect(packageDirOf('node_modules/winston/lib/winston.js')).toBe('node_modules/winston');
    expect(packageDirOf('../x/node_modules/@azure/identity/dist/esm/index.js')).toBe('../x/node_modules/@azure/identity');
    expect(packageDirOf('node_modules/logform/node_modules/@colors/colors/lib/colors.js')).toBe('node_modules/logform/node_modules/@colors/colors');
    expect(packageDirOf('dist/controller/main.js')).toBeUndefined();
  });

  it('names bundles and their metafiles', () => {
    expect(isBundleName('controller')).toBe(true);
    expect(isBundleName('toString')).toBe(false);
    expect(metafilePath('dist/bundle/controller/')).toBe('dist/bundle/controller.meta.json');
  });
});

describe('controller malloc variables of the bench', () => {
  it('are the image defaults unless the harness overrides one; an empty value leaves glibc its default', () => {
    expect(controllerMallocEnv({})).toEqual(CONTROLLER_MALLOC_ENV);
    expect(controllerMallocEnv({ MALLOC_ARENA_MAX: '', MALLOC_MMAP_THRESHOLD_: '1048576' })).toEqual({
      MALLOC_TRIM_THRESHOLD_: '131072',
      MALLOC_MMAP_THRESHOLD_: '1048576',
    });
  });
});
