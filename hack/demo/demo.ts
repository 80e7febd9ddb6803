/**
 * `make demo`: the upstream walkthrough on an embedded cluster. Starts the Azure and Kubernetes
 * emulators in-process, two MIC replicas as child processes, plays the steps of walkthrough.ts,
 * prints a summary and the kubectl commands to look around, and exits 0 only if every step passed.
 *
 * Usage: node dist/hack/demo/demo.js [--keep] [--state-dir DIR] [--step-timeout S] [--lro-latency MS] [--mic-main FILE]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_USAGE, isDemoUsageError, parseDemoArgs, type DemoArgs } from './args.js';
import { DemoSession } from './session.js';
import { isDemoStepError, StepRunner, formatSeconds } from './steps.js';
import { DEMO_NAMES, runWalkthrough } from './walkthrough.js';

/** Exit codes of the demo. */
export const DemoExit = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Lines of each replica log shown when a step fails. */
const LOG_TAIL_LINES = 30;

function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Built: <root>/dist/hack/demo; source: <root>/hack/demo.
  const up = path.resolve(here, '..', '..');
  return path.basename(up) === 'dist' ? path.dirname(up) : up;
}

const print = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** The kubectl commands a person can run against the demo cluster. */
export function kubectlCommands(kubeconfig: string): string[] {
  const k = `kubectl --kubeconfig ${kubeconfig}`;
  const N = DEMO_NAMES;
  return [
    `${k} get azureassignedidentities -A`,
    `${k} describe azureidentitybinding ${N.forbiddenBinding} -n ${N.namespace}`,
    `${k} describe azureidentity ${N.forbiddenIdentity} -n ${N.namespace}`,
    `${k} describe pod ${N.missingPod} -n ${N.namespace}`,
    `${k} describe azureidentity ${N.missingIdentity} -n ${N.namespace}`,
    `${k} describe azureidentity ${N.mismatchIdentity} -n ${N.namespace}`,
    `${k} get events -A`,
    `${k} get lease ${N.lease} -n ${N.namespace} -o yaml`,
    `${k} get pods,nodes -o wide`,
  ];
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve(sig);
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

async function printReplicaLogs(session: DemoSession): Promise<void> {
  for (const r of session.replicas) {
    const exit = r.exit ? ` (exited: ${r.exit.signal ?? `code ${String(r.exit.code)}`})` : '';
    print(`\n--- last ${LOG_TAIL_LINES} lines of ${r.logFile}${exit} ---`);
    for (const line of await r.tail(LOG_TAIL_LINES)) print(line);
  }
}

async function run(args: DemoArgs): Promise<number> {
  const session = new DemoSession();
  const runner = new StepRunner(print);
  const started = Date.now();
  process.on('exit', () => session.killNow());
  const interrupt = (sig: NodeJS.Signals): void => {
    print(`\n${sig}: stopping the demo`);
    void session.stop().finally(() => process.exit(DemoExit.interrupted));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  print('AAD Pod Identity MIC demo: the standard-mode walkthrough on emulated Azure and Kubernetes');
  let failure: unknown;
  try {
    await runWalkthrough(session, runner, {
      stateDir: args.stateDir,
      stepTimeoutMs: args.stepTimeoutMs,
      lroLatencyMs: args.lroLatencyMs,
      nodePath: process.execPath,
      micMain: path.resolve(args.micMain ?? path.join(repoRoot(), 'dist', 'controller', 'main.js')),
    });
  } catch (err) {
    failure = err;
  }

  print('\nSUMMARY');
  for (const line of runner.summaryTable()) print(`  ${line}`);
  const passed = runner.results.filter((r) => r.status === 'PASS').length;
  const kubeconfig = session.emulators?.files.kubeconfig;

  if (failure !== undefined) {
    const where = isDemoStepError(failure) ? `step ${failure.step} (${failure.title})` : 'setup';
    const cause = isDemoStepError(failure) ? failure.cause : failure;
    print(`\nDEMO FAILED at ${where}: ${cause instanceof Error ? cause.message : String(cause)}`);
    await printReplicaLogs(session);
  } else {
    print(`\nDEMO PASSED: ${passed}/${runner.results.length} steps in ${formatSeconds(Date.now() - started)}`);
  }

  if (kubeconfig) {
    print(`\nLook around${args.keep ? ' (the cluster is still running)' : ' (rerun with --keep to keep the cluster running)'}:`);
    for (const cmd of kubectlCommands(kubeconfig)) print(`  ${cmd}`);
    print(`  replica logs: ${session.replicas.map((r) => r.logFile).join(', ')}`);
  }

  if (args.keep && session.emulators) {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    print('\n--keep: emulators and MIC replicas keep running. Press Ctrl-C to stop.');
    const sig = await Promise.race([waitForSignal(), new Promise<'replica-exited'>((resolve) => {
      const timer = setInterval(() => {
        try {
          session.assertReplicasRunning();
        } catch {
          clearInterval(timer);
          resolve('replica-exited');
        }
      }, 1000);
      timer.unref();
    })]);
    print(sig === 'replica-exited' ? 'a MIC replica exited; stopping' : `${sig}: stopping`);
  }

  await session.stop();
  print('stopped the MIC replicas and the emulators');
  return failure === undefined ? DemoExit.ok : DemoExit.failed;
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parseDemoArgs>;
  try {
    args = parseDemoArgs(process.argv.slice(2), { stateDir: path.join(repoRoot(), '.state', 'demo') });
  } catch (err) {
    if (!isDemoUsageError(err)) throw err;
    process.stderr.write(`demo: ${err.message}\n${DEMO_USAGE}\n`);
    process.exit(DemoExit.usage);
  }
  if (args.help) {
    print(DEMO_USAGE);
    return;
  }
  process.exit(await run(args));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`demo: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(DemoExit.failed);
  });
}
