/** Command-line arguments of the demo (`node dist/hack/demo/demo.js [--keep] [--state-dir dir]`). */

/** What the demo was asked to do. */
export interface DemoArgs {
  /** Keep the emulators and replicas running after the walkthrough until Ctrl-C. */
  keep: boolean;
  /** Where the emulators write kubeconfig, azure.json, … and the replicas their logs. */
  stateDir: string;
  /** Deadline of each waiting step. */
  stepTimeoutMs: number;
  /** Emulated duration of an ARM identity PATCH. */
  lroLatencyMs: number;
  /** Controller entry point to run instead of the built `dist/controller/main.js` (undefined: that one). */
  micMain: string | undefined;
}

/** A bad command line (the message says which flag). */
export class DemoUsageError extends Error {
  override readonly name = 'DemoUsageError';
}

/** True for {@link DemoUsageError}. */
export function isDemoUsageError(e: unknown): e is DemoUsageError {
  return e instanceof DemoUsageError;
}

/** Usage text printed for `--help` and bad flags. */
export const DEMO_USAGE = [
  'usage: node dist/hack/demo/demo.js [--keep] [--state-dir DIR] [--step-timeout SECONDS] [--lro-latency MS] [--mic-main FILE]',
  '  --keep             keep the emulators and both MIC replicas running until Ctrl-C',
  '  --state-dir DIR    state directory (default .state/demo)',
  '  --step-timeout S   deadline of each waiting step (default 60)',
  '  --lro-latency MS   how long an ARM identity update takes (default 1000)',
  '  --mic-main FILE    controller entry point to run (default dist/controller/main.js)',
].join('\n');

function positiveNumber(flag: string, raw: string | undefined): number {
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(n) || n <= 0) throw new DemoUsageError(`${flag} needs a positive number`);
  return n;
}

/** Parses the arguments; `--flag=value` and `--flag value` are both accepted. */
export function parseDemoArgs(argv: readonly string[], defaults: { stateDir: string }): DemoArgs & { help: boolean } {
  const out: DemoArgs & { help: boolean } = { keep: false, help: false, stateDir: defaults.stateDir, stepTimeoutMs: 60_000, lroLatencyMs: 1000, micMain: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => (eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '--keep':
        out.keep = true;
        break;
      case '-h':
      case '--help':
        out.help = true;
        break;
      case '--state-dir': {
        const dir = value();
        if (!dir) throw new DemoUsageError('--state-dir needs a directory');
        out.stateDir = dir;
        break;
      }
      case '--mic-main': {
        const file = value();
        if (!file) throw new DemoUsageError('--mic-main needs a file');
        out.micMain = file;
        break;
      }
      case '--step-timeout':
        out.stepTimeoutMs = positiveNumber(flag, value()) * 1000;
        break;
      case '--lro-latency':
        out.lroLatencyMs = positiveNumber(flag, value());
        break;
      default:
        throw new DemoUsageError(`unknown argument ${arg}`);
    }
  }
  return out;
}
