#!/usr/bin/env node
/**
 * `make chaos`: `node dist/hack/chaos/chaos.js [--seed N] [--steps N] [--quiesce-every N] [--actor-rate N]`.
 * `make chaos-figures`: `... --figures [--only inprocess,kill9,stale] [--lease-duration S]
 * [--burst N] [--stale N] [--client-qps Q[,Q...]]`.
 * Runs the randomized invariant suite (or, with `--figures`, the failover and recovery
 * measurements) and prints the figures; exits 1 when an invariant was violated.
 */
import { parseArgs as parseNodeArgs } from 'node:util';
import { formatFigures, measureFailover, measureStaleRecovery, type StaleFigures } from './figures.js';
import { measureProcessFailover } from './process-failover.js';
import { formatReport, runChaos } from './runner.js';

/** Parsed command line. */
interface Args {
  seed: number;
  steps: number;
  quiesceEvery: number;
  actorRate: number;
  figures: boolean;
  staleCount: number;
  /** Measurements of `--figures`. */
  only: Set<Measurement>;
  leaseDurationMs: number;
  burstPods: number;
  clientQps: number[];
}

const MEASUREMENTS = ['inprocess', 'kill9', 'stale'] as const;
type Measurement = (typeof MEASUREMENTS)[number];
const USAGE = 'usage: chaos [--seed N] [--steps N] [--quiesce-every N] [--actor-rate N]\n       chaos --figures [--only inprocess,kill9,stale] [--lease-duration S] [--burst N] [--stale N] [--client-qps Q[,Q...]]';

function bad(message: string): never {
  process.stderr.write(`chaos: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  let values;
  try {
    ({ values } = parseNodeArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        steps: { type: 'string' },
        'quiesce-every': { type: 'string' },
        'actor-rate': { type: 'string' },
        stale: { type: 'string' },
        figures: { type: 'boolean', default: false },
        burst: { type: 'string' },
        'lease-duration': { type: 'string' },
        'client-qps': { type: 'string' },
        only: { type: 'string' },
      },
    }));
  } catch (err) {
    bad((err as Error).message);
  }
  const count = (flag: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < 0) bad(`--${flag} needs a non-negative integer`);
    return n;
  };
  const words = (raw: string): string[] => raw.split(',').map((w) => w.trim()).filter(Boolean);
  const args: Args = {
    seed: count('seed', values.seed, Math.floor(Math.random() * 2 ** 31)),
    steps: count('steps', values.steps, 200),
    quiesceEvery: Math.max(1, count('quiesce-every', values['quiesce-every'], 25)),
    actorRate: count('actor-rate', values['actor-rate'], 1),
    figures: values.figures,
    staleCount: count('stale', values.stale, 1000),
    only: new Set(MEASUREMENTS),
    leaseDurationMs: 15_000,
    burstPods: Math.max(1, count('burst', values.burst, 60)),
    clientQps: [5],
  };
  if (values['lease-duration'] !== undefined) {
    const s = Number(values['lease-duration']);
    if (!(s > 0)) bad('--lease-duration needs a number of seconds > 0');
    args.leaseDurationMs = Math.round(s * 1000);
  }
  if (values['client-qps'] !== undefined) {
    args.clientQps = words(values['client-qps']).map(Number);
    if (args.clientQps.length === 0 || args.clientQps.some((q) => !(q > 0))) bad('--client-qps needs numbers > 0');
  }
  if (values.only !== undefined) {
    const picked = words(values.only);
    if (picked.length === 0 || picked.some((m) => !(MEASUREMENTS as readonly string[]).includes(m))) bad(`--only takes ${MEASUREMENTS.join(',')}`);
    args.only = new Set(picked as Measurement[]);
  }
  return args;
}

async function main(): Promise<void> {
  // The Azure SDK only trusts the emulator's test-only CA when it is given at process start.
  if (!process.env.NODE_EXTRA_CA_CERTS) {
    process.stderr.write('chaos: set NODE_EXTRA_CA_CERTS=hack/emulators/azure/testdata/test-ca.pem (the Azure emulator\'s test-only CA)\n');
    process.exit(2);
  }
  const args = parseArgs(process.argv.slice(2));
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  if (args.figures) {
    const inProcess = args.only.has('inprocess') ? await measureFailover({ progress: out, leaseDurationMs: args.leaseDurationMs, burstPods: args.burstPods }) : undefined;
    const kill9 = args.only.has('kill9') ? await measureProcessFailover({ progress: out, leaseDurationMs: args.leaseDurationMs, burstPods: args.burstPods }) : undefined;
    const stale: StaleFigures[] = [];
    if (args.only.has('stale')) for (const clientQps of args.clientQps) stale.push(await measureStaleRecovery({ count: args.staleCount, clientQps, progress: out }));
    out(`figures: ${new Date().toISOString()}`);
    out(formatFigures({ inProcess, kill9, stale }));
    const bad = [inProcess?.lostWrites, inProcess?.violations.length, kill9?.lostWrites, kill9?.violations.length, ...stale.map((s) => s.violations.length)];
    process.exit(bad.some((n) => (n ?? 0) > 0) ? 1 : 0);
  }
  out(`chaos: seed ${args.seed}, ${args.steps} steps`);
  const report = await runChaos({ seed: args.seed, steps: args.steps, quiesceEvery: args.quiesceEvery, actorRate: args.actorRate, progress: out });
  out(formatReport(report));
  process.exit(report.violations.length > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
