#!/usr/bin/env node
/**
 * Production bundle of the controller: esbuild bundles and minifies tsc's output (`dist/`) with
 * its dependencies into a few ES modules, so the process parses only code it can reach. Modules
 * that nothing uses are left out (client-node's generated APIs other than Core, Coordination and
 * CustomObjects), and comments and whitespace of the rest vanish: the idle heap drops from ~38 to
 * ~21 MiB (bench/RESULTS.md, notes). Dynamic `import()` stays a separate chunk, so the Azure SDK
 * is still loaded only on the first ARM call.
 *
 *   node dist/hack/build/bundle.js controller [bench]
 *
 * writes `dist/bundle/<name>/`: the entry (`main.js` or `mic-process.js`), `chunks/`, a
 * `package.json` that makes the `.js` files ES modules, linked source maps, and
 * `THIRD_PARTY_LICENSES.txt` with the license of every package inside (and esbuild's metafile
 * beside it: `dist/bundle/<name>.meta.json`). The image runs
 * `dist/bundle/controller` (Dockerfile); the benchmark runs `dist/bundle/bench`, which is
 * `controller/main.ts`'s wiring plus the benchmark's time scale (hack/bench/mic-process.ts).
 */
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bundles this script makes: name → entry point, relative to `dist/`. */
export const BUNDLES = {
  controller: 'controller/main.js',
  bench: 'hack/bench/mic-process.js',
} as const;

/** Name of a bundle in {@link BUNDLES}. */
export type BundleName = keyof typeof BUNDLES;

/** True when `name` is a bundle name. */
export function isBundleName(name: string): name is BundleName {
  return Object.hasOwn(BUNDLES, name);
}

/**
 * CommonJS dependencies (winston, prom-client, ...) `require()` Node's built-in modules; an ES
 * module has no `require`, so every output file defines one for esbuild's require shim.
 */
const REQUIRE_BANNER = 'import { createRequire as __micCreateRequire } from "node:module"; const require = __micCreateRequire(import.meta.url);';

/** esbuild options of one bundle: `entry` (a built .js file) into `outdir`. */
export function bundleOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: [entry],
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // Dynamic import() targets (the Azure SDK) become chunks loaded on first use.
    splitting: true,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    // Class and function names survive minification (error names, log fields, client-node's serializer).
    keepNames: true,
    // Maps are read only with NODE_OPTIONS=--enable-source-maps; they chain tsc's maps back to the .ts files.
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    banner: { js: REQUIRE_BANNER },
    metafile: true,
    logLevel: 'warning',
  };
}

/** The package directory (…/node_modules/<name>) of a bundled input path, if it is inside one. */
export function packageDirOf(input: string): string | undefined {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.split(path.sep).join('/'));
  return m?.[1];
}

/** The license texts of every package with code in the bundle, one section per package. */
export function thirdPartyLicenses(metafile: Metafile, cwd: string): string {
  const dirs = new Set<string>();
  for (const out of Object.values(metafile.outputs)) {
    for (const [input, use] of Object.entries(out.inputs)) {
      const dir = packageDirOf(input);
      if (dir && use.bytesInOutput > 0) dirs.add(dir);
    }
  }
  const sections: string[] = [];
  for (const dir of [...dirs].sort()) {
    const abs = path.resolve(cwd, dir);
    const pkg = JSON.parse(readFileSync(path.join(abs, 'package.json'), 'utf8')) as { name?: string; version?: string; license?: string };
    const files = readdirSync(abs).filter((f) => /^(licen[cs]e|copying|notice)/i.test(f)).sort();
    const texts = files.map((f) => readFileSync(path.join(abs, f), 'utf8').trim());
    sections.push(`${pkg.name ?? dir}@${pkg.version ?? '?'} (${pkg.license ?? 'see text'})\n\n${texts.join('\n\n') || `License: ${pkg.license ?? 'unknown'}`}`);
  }
  return sections.join(`\n\n${'-'.repeat(72)}\n\n`) + '\n';
}

/**
 * Inputs (source modules) with code in the files node loads to start the bundle's entry point: the
 * entry and the chunks it reaches by static `import`; chunks behind a dynamic `import()` are not
 * loaded at start-up and are left out.
 */
export function startupInputs(metafile: Metafile, name: BundleName): string[] {
  // Dynamic import() targets are entry points too; the bundle's own is dist/<BUNDLES[name]>.
  const entries = Object.entries(metafile.outputs).filter(([, o]) => o.entryPoint?.split(path.sep).join('/').endsWith(`/${BUNDLES[name]}`));
  if (entries.length !== 1) throw new Error(`expected one output for ${BUNDLES[name]} in the metafile, found ${entries.length}`);
  const seen = new Set<string>();
  const stack = [entries[0]![0]];
  const inputs = new Set<string>();
  while (stack.length > 0) {
    const file = stack.pop()!;
    const out = metafile.outputs[file];
    if (seen.has(file) || !out) continue;
    seen.add(file);
    for (const [input, use] of Object.entries(out.inputs)) if (use.bytesInOutput > 0) inputs.add(input);
    for (const imp of out.imports) if (imp.kind === 'import-statement' && !imp.external) stack.push(imp.path);
  }
  return [...inputs].sort();
}

/** Result of {@link writeBundle}. */
export interface BundleResult {
  /** Directory of the bundle. */
  outdir: string;
  /** The entry file to run with node. */
  entry: string;
  metafile: Metafile;
}

/** esbuild's metafile of the bundle in `outdir`: `<outdir>.meta.json`. */
export function metafilePath(outdir: string): string {
  return `${outdir.replace(/[/\\]+$/, '')}.meta.json`;
}

/** Bundles `dist/<BUNDLES[name]>` into `outdir` (default `dist/bundle/<name>`), replacing what was there. */
export async function writeBundle(name: BundleName, distDir: string, outdir = path.join(distDir, 'bundle', name)): Promise<BundleResult> {
  const source = path.join(distDir, BUNDLES[name]);
  if (!existsSync(source)) throw new Error(`${source} is missing: compile first (tsc -p tsconfig.build.json)`);
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build(bundleOptions(source, outdir));
  const metafile = result.metafile!;
  await writeFile(path.join(outdir, 'package.json'), JSON.stringify({ type: 'module', private: true }) + '\n');
  await writeFile(path.join(outdir, 'THIRD_PARTY_LICENSES.txt'), thirdPartyLicenses(metafile, process.cwd()));
  // Beside the bundle, not in it: which module went into which file (tests read the start-up graph).
  await writeFile(metafilePath(outdir), JSON.stringify(metafile) + '\n');
  return { outdir, entry: path.join(outdir, path.basename(source)), metafile };
}

async function main(argv: string[]): Promise<number> {
  const names = argv.length > 0 ? argv : ['controller'];
  const unknown = names.filter((n) => !isBundleName(n));
  if (unknown.length > 0) {
    process.stderr.write(`bundle: unknown bundle ${unknown.join(', ')} (one of ${Object.keys(BUNDLES).join(', ')})\n`);
    return 2;
  }
  const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  for (const name of names as BundleName[]) {
    const r = await writeBundle(name, distDir);
    const bytes = Object.entries(r.metafile.outputs).filter(([f]) => f.endsWith('.js')).reduce((n, [, o]) => n + o.bytes, 0);
    process.stdout.write(`bundle: ${path.relative(process.cwd(), r.entry)} (${(bytes / 1024 / 1024).toFixed(1)} MiB of JavaScript)\n`);
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bundle: failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
