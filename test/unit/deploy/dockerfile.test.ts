/** Static checks of the Dockerfile (docker cannot build in this environment). */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './load.js';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
/** Instructions with line continuations joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
/** Instructions of the last (runtime) stage. */
const runtime = instructions.slice(instructions.map((l) => l.startsWith('FROM ')).lastIndexOf(true));
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());

describe('Dockerfile', () => {
  it('is multi-stage on a Node 24 base', () => {
    expect(instructions.filter((l) => l.startsWith('FROM '))).toHaveLength(2);
    expect(dockerfile).toMatch(/ARG NODE_IMAGE=node:24-(bookworm-slim|alpine)/);
    expect(runtime[0]).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/);
  });

  it('installs only production dependencies in the runtime stage, without install scripts', () => {
    const install = runtime.find((l) => l.startsWith('RUN npm ci'));
    expect(install).toContain('--omit=dev');
    expect(install).toContain('--ignore-scripts');
  });

  it('never runs the node devDependency shim', () => {
    for (const line of instructions.filter((l) => l.startsWith('RUN '))) {
      expect(line).not.toMatch(/\bnpx\b|npm run|node_modules\/\.bin/);
      if (line.includes('npm ci')) expect(line).toContain('--ignore-scripts');
    }
  });

  it('copies the compiled controller and the CRDs', () => {
    expect(runtime).toEqual(expect.arrayContaining([expect.stringMatching(/^COPY --from=build \/src\/dist\/controller \.\/dist\/controller$/)]));
    expect(runtime).toContain('COPY crds ./crds');
  });

  it('runs as uid 65532 with the exact entrypoint', () => {
    expect(runtime).toContain('USER 65532:65532');
    expect(runtime[runtime.length - 1]).toBe('ENTRYPOINT ["node", "/app/dist/controller/main.js"]');
  });

  it('keeps local state out of the build context', () => {
    for (const entry of ['node_modules', 'dist', '.git', '.state', 'coverage']) expect(dockerignore).toContain(entry);
    for (const needed of ['controller', 'crds', 'package.json', 'package-lock.json']) expect(dockerignore).not.toContain(needed);
  });
});
