#!/usr/bin/env node
/**
 * `make bench`: runs the benchmark scenarios against the emulators with the controller in a child
 * process, prints a table and writes `results.json` and `RESULTS.md`.
 *
 *   node dist/hack/bench/bench.js [--smoke] [--scenario name[,name]]... [--merge] [--out dir]
 *
 * `--merge` keeps the figures of the scenarios not run from the `results.json` already in the
 * output directory (a note in RESULTS.md says which scenarios were re-measured when).
 *
 * Default output: `bench/` (full) or `bench/smoke/` (smoke). Exit code 0 when every requested
 * scenario ran (targets are goals and do not change the exit code), 1 on a harness error, 2 on bad
 * arguments.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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
  /** Keep the other scenarios' figures from the existing results.json. */
  merge: boolean;
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
        merge: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    throw new RangeError(`${(err as Error).message} (use --smoke, --scenario name, --merge, --out dir)`, { cause: err });
  }
  const smoke = values.smoke;
  const merge = values.merge;
  if (values.out === '' || values.scenario.some((v) => v === '')) throw new RangeError('--out and --scenario need a value');
  const out = values.out;
  const chosen = values.scenario.flatMap((v) => v.split(',').filter(Boolean));
  for (const s of chosen) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(s)) throw new RangeError(`unknown scenario ${s} (one of ${SCENARIO_NAMES.join(', ')})`);
  }
  return {
    smoke,
    merge,
    scenarios: chosen.length > 0 ? chosen : [...SCENARIO_NAMES],
    out: path.resolve(out ?? path.join(repoRoot(), 'bench', ...(smoke ? ['smoke'] : []))),
  };
}

async function readPrevious(file: string): Promise<BenchResults | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as BenchResults;
  } catch {
    return undefined;
  }
}

/**
 * `previous` with the scenarios of `fresh` replaced (in run order) and a note saying which ones were
 * re-measured when; the other scenarios keep their figures and the previous date.
 */
export function mergeResults(previous: BenchResults, fresh: BenchResults): BenchResults {
  const freshBy = new Map(fresh.scenarios.map((f) => [f.scenario, f]));
  const names = [...SCENARIO_NAMES].filter((n) => freshBy.has(n) || previous.scenarios.some((f) => f.scenario === n));
  const scenarios = names.map((n) => freshBy.get(n) ?? previous.scenarios.find((f) => f.scenario === n)!);
  const kept = names.filter((n) => !freshBy.has(n));
  const note = `Scenario${freshBy.size === 1 ? '' : 's'} ${[...freshBy.keys()].join(', ')} re-measured on ${fresh.date}` +
    (kept.length > 0 ? `; ${kept.join(', ')} are from the run of ${previous.date}.` : '.');
  const oldNotes = previous.notes.filter((x) => !/ re-measured on /.test(x));
  return { ...fresh, notes: [...oldNotes, ...fresh.notes, note], scenarios };
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
  const previous = args.merge ? await readPrevious(path.join(args.out, 'results.json')) : undefined;
  const save = async (): Promise<void> => {
    const doc = previous ? mergeResults(previous, results) : results;
    await writeFile(path.join(args.out, 'results.json'), JSON.stringify(doc, null, 2) + '\n');
    await writeFile(path.join(args.out, 'RESULTS.md'), renderMarkdown(doc));
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
