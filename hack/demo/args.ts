/** Command-line arguments of the demo (`node dist/hack/demo/demo.js [--keep] [--state-dir dir]`). */
import { parseArgs } from 'node:util';

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

function positiveNumber(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) throw new DemoUsageError(`${flag} needs a positive number`);
  return n;
}

/** Parses the arguments with node:util parseArgs; `--flag=value` and `--flag value` are both accepted. */
export function parseDemoArgs(argv: readonly string[], defaults: { stateDir: string }): DemoArgs & { help: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        'state-dir': { type: 'string' },
        'step-timeout': { type: 'string' },
        'lro-latency': { type: 'string' },
        'mic-main': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new DemoUsageError((err as Error).message, { cause: err });
  }
  if (values['state-dir'] === '') throw new DemoUsageError('--state-dir needs a directory');
  if (values['mic-main'] === '') throw new DemoUsageError('--mic-main needs a file');
  return {
    keep: values.keep,
    help: values.help,
    stateDir: values['state-dir'] ?? defaults.stateDir,
    stepTimeoutMs: values['step-timeout'] === undefined ? 60_000 : positiveNumber('--step-timeout', values['step-timeout']) * 1000,
    lroLatencyMs: values['lro-latency'] === undefined ? 1000 : positiveNumber('--lro-latency', values['lro-latency']),
    micMain: values['mic-main'],
  };
}
