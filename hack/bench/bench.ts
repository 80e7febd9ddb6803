#!/usr/bin/env node
/**
 * `make bench`: runs the benchmark scenarios against the emulators with the controller in a child
 * process, prints a table and writes `results.json` and `RESULTS.md`.
 *
 *   node dist/hack/bench/bench.js [--smoke] [--scenario name[,name]]... [--out dir]
 *
 * Default output: `bench/` (full) or `bench/smoke/` (smoke). Exit code 0 when every requested
 * scenario ran (targets are goals and do not change the exit code), 1 on a harness error, 2 on bad
 * arguments.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo, renderMarkdown, renderTable, type BenchResults } from './report.js';
import { runScenario, type ScenarioFigures } from './runner.js';
import { SCENARIO_NAMES, scenarios } from './scenarios.js';

/** Parsed command line of the benchmark. */
export interface BenchArgs {
  smoke: boolean;
  scenarios: string[];
  out: string;
}

function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Source: <root>/hack/bench; built: <root>/dist/hack/bench.
  const up = path.resolve(here, '..', '..');
  return path.basename(up) === 'dist' ? path.dirname(up) : up;
}

/** Parses the arguments with node:util parseArgs; throws RangeError on a bad one. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        smoke: { type: 'boolean', default: false },
        scenario: { type: 'string', multiple: true, default: [] },
        out: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new RangeError(`${(err as Error).message} (use --smoke, --scenario name, --out dir)`, { cause: err });
  }
  const smoke = values.smoke;
  if (values.out === '' || values.scenario.some((v) => v === '')) throw new RangeError('--out and --scenario need a value');
  const out = values.out;
  const chosen = values.scenario.flatMap((v) => v.split(',').filter(Boolean));
  for (const s of chosen) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(s)) throw new RangeError(`unknown scenario ${s} (one of ${SCENARIO_NAMES.join(', ')})`);
  }
  return {
    smoke,
    scenarios: chosen.length > 0 ? chosen : [...SCENARIO_NAMES],
    out: path.resolve(out ?? path.join(repoRoot(), 'bench', ...(smoke ? ['smoke'] : []))),
  };
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  const progress = (msg: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  const defs = scenarios(args.smoke).filter((d) => args.scenarios.includes(d.name));
  const results: BenchResults = {
    date: new Date().toISOString(),
    mode: args.smoke ? 'smoke' : 'full',
    machine: machineInfo(),
    notes: [],
    scenarios: [],
  };
  await mkdir(args.out, { recursive: true });
  const save = async (): Promise<void> => {
    await writeFile(path.join(args.out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    await writeFile(path.join(args.out, 'RESULTS.md'), renderMarkdown(results));
  };
  for (const def of defs) {
    progress(`${def.name}: starting (${def.title})`);
    const f: ScenarioFigures = await runScenario(def, progress);
    results.scenarios.push(f);
    progress(`${def.name}: ${f.completed ? 'done' : `incomplete: ${f.error ?? ''}`} in ${f.wallSeconds.toFixed(1)} s`);
    await save(); // partial results survive an interrupted run
  }
  if (results.scenarios.length === 0) await save();
  process.stdout.write(renderTable(results) + '\n');
  process.stdout.write(`\nWrote ${path.join(args.out, 'results.json')} and RESULTS.md\n`);
  return 0;
}

// Run only as the entry point, so tests can import parseBenchArgs.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
