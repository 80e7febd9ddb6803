#!/usr/bin/env node
/**
 * `make chaos`: `node dist/hack/chaos/chaos.js [--seed N] [--steps N] [--quiesce-every N]
 * [--figures]`. Runs the randomized invariant suite (or, with `--figures`, the failover and
 * recovery measurements) and prints the figures; exits 1 when an invariant was violated.
 */
import { formatFigures, measureFailover, measureStaleRecovery } from './figures.js';
import { formatReport, runChaos } from './runner.js';

/** Parsed command line. */
interface Args {
  seed: number;
  steps: number;
  quiesceEvery: number;
  figures: boolean;
  staleCount: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seed: Math.floor(Math.random() * 2 ** 31), steps: 200, quiesceEvery: 25, figures: false, staleCount: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) {
        process.stderr.write(`chaos: ${flag} needs a non-negative integer\n`);
        process.exit(2);
      }
      return n;
    };
    if (flag === '--seed') args.seed = value();
    else if (flag === '--steps') args.steps = value();
    else if (flag === '--quiesce-every') args.quiesceEvery = Math.max(1, value());
    else if (flag === '--stale') args.staleCount = value();
    else if (flag === '--figures') args.figures = true;
    else {
      process.stderr.write(`chaos: unknown flag ${flag}\nusage: chaos [--seed N] [--steps N] [--quiesce-every N] [--figures [--stale N]]\n`);
      process.exit(2);
    }
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
    const failover = await measureFailover({ progress: out });
    const stale = await measureStaleRecovery({ count: args.staleCount, progress: out });
    out(formatFigures(failover, stale));
    process.exit(failover.duplicateWrites + failover.lostWrites + failover.violations.length + stale.violations.length > 0 ? 1 : 0);
  }
  out(`chaos: seed ${args.seed}, ${args.steps} steps`);
  const report = await runChaos({ seed: args.seed, steps: args.steps, quiesceEvery: args.quiesceEvery, progress: out });
  out(formatReport(report));
  process.exit(report.violations.length > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
