/**
 * `make demo` end to end: runs the built demo (`dist/hack/demo/demo.js`, built by `make test`
 * before jest) as a child process against its own temp state dir, plus the demo's small helpers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseDemoArgs, isDemoUsageError } from '../../hack/demo/args.js';
import { DemoCluster } from '../../hack/demo/cluster.js';
import { parseEnvFile, isEnvFileError } from '../../hack/demo/env-file.js';
import { describeEvents, eventsAbout, formatAge } from '../../hack/demo/events.js';
import { pollUntil, isPollTimeoutError } from '../../hack/demo/poll.js';
import { StepRunner, isDemoStepError } from '../../hack/demo/steps.js';
import { DEMO_NAMES, STEP_TITLES, VALIDATION_REASONS } from '../../hack/demo/walkthrough.js';
import type { CoreV1Event } from '@kubernetes/client-node';
import { waitFor } from '../support/wait.js';

const DEMO = path.resolve('dist/hack/demo/demo.js');
const RUN_TIMEOUT_MS = 120_000;

/** A demo process with its collected output. */
interface DemoRun {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];
const tempDirs: string[] = [];

function startDemo(args: string[]): DemoRun {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the demo
  const child = spawn(process.execPath, [DEMO, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Replica pids printed by step 2 ("mic-a: pid 1234, …"). */
function replicaPids(output: string): number[] {
  return [...output.matchAll(/^\s+mic-[ab]: pid (\d+),/gm)].map((m) => Number(m[1]));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The describe-style Events block printed for `kind name`: its heading and first event row. */
function describedEvent(kind: string, name: string, reason: string): RegExp {
  return new RegExp(`kubectl describe ${kind} ${escape(name)} -n default   \\(Events\\)\\n\\s+Events:\\n\\s+Type\\s+Reason\\s+Age\\s+From\\s+Message\\n.*\\n\\s+Warning\\s+${reason}\\s+\\d+s\\s+\\S+\\s+\\S`);
}

/** True when `events` hold a Warning `reason` about `kind/name`. */
function hasWarning(events: readonly CoreV1Event[], kind: string, name: string, reason: string): boolean {
  return eventsAbout(events, { kind, name }).some((e) => e.type === 'Warning' && e.reason === reason);
}

beforeAll(() => {
  if (!existsSync(DEMO)) throw new Error(`${DEMO} is missing: run make build (make test builds first)`);
});

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('make demo', () => {
  it(
    'plays the whole walkthrough, prints the summary and kubectl commands, exits 0 and leaves no process behind',
    async () => {
      const stateDir = await tempDir('mic-demo-');
      const run = startDemo(['--state-dir', stateDir]);
      const { code } = await run.exited;
      const out = run.output();
      if (code !== 0) throw new Error(`demo exited ${String(code)}:\n${out}`);

      expect(out).toMatch(/^SUMMARY$/m);
      for (const [i, title] of STEP_TITLES.entries()) {
        expect(out).toMatch(new RegExp(`^\\s+${i + 1}\\s+${escape(title)}\\s+PASS\\s+\\d+\\.\\d\\d s`, 'm'));
      }
      expect(out).toContain(`DEMO PASSED: ${STEP_TITLES.length}/${STEP_TITLES.length} steps`);
      expect(out).toMatch(/holderIdentity=mic-[ab]/);
      expect(out).toMatch(/AzureAssignedIdentity demo-default-demo-identity: Assigned/);
      expect(out).toMatch(/Warning IdentityForbidden on (Pod|AzureIdentityBinding)\//);

      // Identity validation: the missing identity is held back alone, with Events; the healthy one is assigned.
      const N = DEMO_NAMES;
      expect(out).toContain(`Warning ${VALIDATION_REASONS.notFound} on Pod/${N.missingPod}`);
      expect(out).toContain(`Warning ${VALIDATION_REASONS.notFound} on AzureIdentity/${N.missingIdentity}`);
      expect(out).toMatch(describedEvent('pod', N.missingPod, VALIDATION_REASONS.notFound));
      expect(out).toMatch(describedEvent('azureidentity', N.missingIdentity, VALIDATION_REASONS.notFound));
      expect(out).toContain(`AzureAssignedIdentity ${N.healthyPod}-default-${N.healthyIdentity}: Assigned`);
      expect(out).toMatch(new RegExp(`AzureAssignedIdentity ${N.missingPod}-default-${N.missingIdentity}: (?!Assigned)\\S+ \\(held back\\)`));
      expect(out).toMatch(/ARM writes since the scene began: [1-9]\d*, rejected: 0$/m);
      expect(out).toMatch(/0 of [1-9]\d* ARM writes rejected$/m);
      // The wrong clientID is reported, naming what Azure has.
      expect(out).toMatch(describedEvent('azureidentity', N.mismatchIdentity, VALIDATION_REASONS.clientIdMismatch));
      expect(out).toMatch(/Azure reports clientId 1d000001-0000-4000-8000-000000000001/);
      expect(out).toMatch(new RegExp(`${VALIDATION_REASONS.clientIdMismatch} after \\d+\\.\\d\\d s, then Assigned$`, 'm'));
      const kubeconfig = path.join(stateDir, 'kubeconfig');
      expect(out).toContain(`kubectl --kubeconfig ${kubeconfig} get azureassignedidentities -A`);
      expect(out).toContain(`kubectl --kubeconfig ${kubeconfig} describe azureidentitybinding ${DEMO_NAMES.forbiddenBinding}`);
      expect(out).toContain(`kubectl --kubeconfig ${kubeconfig} get events -A`);

      // Replica logs were captured, and both replicas are gone.
      for (const name of DEMO_NAMES.replicas) expect(await readFile(path.join(stateDir, `${name}.log`), 'utf8')).toMatch(/"message":/);
      const pids = replicaPids(out);
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(isRunning(pid)).toBe(false);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    '--keep keeps emulators and replicas serving until SIGINT, then stops cleanly',
    async () => {
      const stateDir = await tempDir('mic-demo-keep-');
      const run = startDemo(['--keep', '--state-dir', stateDir]);
      await waitFor(() => run.output().includes('Press Ctrl-C') || run.child.exitCode !== null, 'the --keep prompt', RUN_TIMEOUT_MS - 10_000, 100);
      expect(run.output()).toContain('DEMO PASSED');

      // The cluster still answers through the printed kubeconfig, with the demo's objects in it.
      const kc = new KubeConfig();
      kc.loadFromFile(path.join(stateDir, 'kubeconfig'));
      const cluster = new DemoCluster(kc);
      const names = (await cluster.listAssigned()).map((a) => a.metadata.name);
      expect(names).toContain('demo-forbidden-default-forbidden-identity');
      expect(names).not.toContain('demo-default-demo-identity');
      // Identity validation left its trace in the cluster: Events on the pods and AzureIdentities,
      // the healthy identity Assigned, the missing one not.
      const N = DEMO_NAMES;
      const byName = new Map((await cluster.listAssigned()).map((a) => [a.metadata.name, a.status?.status]));
      expect(byName.get(`${N.healthyPod}-default-${N.healthyIdentity}`)).toBe('Assigned');
      expect(byName.has(`${N.missingPod}-default-${N.missingIdentity}`)).toBe(true);
      expect(byName.get(`${N.missingPod}-default-${N.missingIdentity}`)).not.toBe('Assigned');
      expect(byName.get(`${N.mismatchPod}-default-${N.mismatchIdentity}`)).toBe('Assigned');
      const events = await cluster.events(N.namespace);
      expect(hasWarning(events, 'Pod', N.missingPod, VALIDATION_REASONS.notFound)).toBe(true);
      expect(hasWarning(events, 'AzureIdentity', N.missingIdentity, VALIDATION_REASONS.notFound)).toBe(true);
      expect(hasWarning(events, 'Pod', N.healthyPod, VALIDATION_REASONS.notFound)).toBe(false);
      expect(hasWarning(events, 'AzureIdentity', N.healthyIdentity, VALIDATION_REASONS.notFound)).toBe(false);
      expect(hasWarning(events, 'AzureIdentity', N.mismatchIdentity, VALIDATION_REASONS.clientIdMismatch)).toBe(true);
      expect(hasWarning(events, 'Pod', N.mismatchPod, VALIDATION_REASONS.clientIdMismatch)).toBe(true);
      const pids = replicaPids(run.output());
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(isRunning(pid)).toBe(true);

      run.child.kill('SIGINT');
      const { code } = await run.exited;
      expect(code).toBe(0);
      expect(run.output()).toContain('stopped the MIC replicas and the emulators');
      for (const pid of pids) expect(isRunning(pid)).toBe(false);
      await expect(cluster.listAssigned()).rejects.toThrow();
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'fails naming the step when a replica dies, shows its log tail, and skips the rest',
    async () => {
      const dir = await tempDir('mic-demo-fail-');
      const fakeMic = path.join(dir, 'crashing-mic.mjs');
      await writeFile(fakeMic, "process.stderr.write('fake mic: cannot start\\n');\nprocess.exit(3);\n");
      const run = startDemo(['--state-dir', path.join(dir, 'state'), '--mic-main', fakeMic, '--step-timeout', '20']);
      const { code } = await run.exited;
      const out = run.output();
      expect(code).toBe(1);
      expect(out).toContain(`DEMO FAILED at step 2 (${STEP_TITLES[1]})`);
      expect(out).toMatch(/MIC replica mic-[ab] exited unexpectedly \(exit code 3\)/);
      expect(out).toMatch(/--- last 30 lines of .*mic-[ab]\.log \(exited: code 3\) ---\nfake mic: cannot start/);
      expect(out).toMatch(new RegExp(`^\\s+2\\s+${escape(STEP_TITLES[1])}\\s+FAIL`, 'm'));
      expect(out).toMatch(new RegExp(`^\\s+3\\s+${escape(STEP_TITLES[2])}\\s+SKIPPED`, 'm'));
      expect(out).not.toContain('DEMO PASSED');
      expect(out).toContain('stopped the MIC replicas and the emulators');
    },
    RUN_TIMEOUT_MS,
  );

  it('rejects unknown arguments with exit code 2', async () => {
    const run = startDemo(['--bogus']);
    const { code } = await run.exited;
    expect(code).toBe(2);
    expect(run.output()).toContain("Unknown option '--bogus'");
  });
});

describe('demo helpers', () => {
  it('parses the launcher env file, including single-quoted values', () => {
    const env = parseEnvFile("# comment\nexport NODE_EXTRA_CA_CERTS='/tmp/a b/ca.pem'\nexport MIC_POD_NAMESPACE=default\nexport Q='it'\\''s'\n\n");
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/tmp/a b/ca.pem', MIC_POD_NAMESPACE: 'default', Q: "it's" });
    expect(() => parseEnvFile('export =x')).toThrow();
    try {
      parseEnvFile("ok=1\nexport B='unterminated");
    } catch (err) {
      expect(isEnvFileError(err) && err.line).toBe(2);
    }
    expect.assertions(3);
  });

  it('parses the demo flags', () => {
    const d = { stateDir: '/s' };
    expect(parseDemoArgs([], d)).toMatchObject({ keep: false, stateDir: '/s', stepTimeoutMs: 60_000, lroLatencyMs: 1000, micMain: undefined });
    expect(parseDemoArgs(['--keep', '--state-dir=/x', '--step-timeout', '5', '--lro-latency=250'], d)).toMatchObject({ keep: true, stateDir: '/x', stepTimeoutMs: 5000, lroLatencyMs: 250 });
    for (const bad of [['--step-timeout', '0'], ['--step-timeout'], ['--state-dir'], ['--nope']]) {
      let caught: unknown;
      try {
        parseDemoArgs(bad, d);
      } catch (err) {
        caught = err;
      }
      expect(isDemoUsageError(caught)).toBe(true);
    }
  });

  it('records passed, failed and skipped steps in the summary', async () => {
    const lines: string[] = [];
    let t = 0;
    const runner = new StepRunner((l) => lines.push(l), () => (t += 500));
    await runner.run('first', async (say) => {
      say('progress');
      return 'fine';
    });
    const failing = runner.run('second', () => Promise.reject(new Error('boom')));
    await expect(failing).rejects.toThrow('step 2 "second" failed: boom');
    await failing.catch((err: unknown) => expect(isDemoStepError(err) && err.step).toBe(2));
    runner.skip(['third']);
    expect(runner.allPassed).toBe(false);
    expect(lines).toContain('    progress');
    const table = runner.summaryTable();
    expect(table[0]).toMatch(/^#\s+Step\s+Result\s+Duration\s+Detail$/);
    expect(table.slice(2)).toEqual([
      expect.stringMatching(/^1\s+first\s+PASS\s+0\.50 s\s+fine$/),
      expect.stringMatching(/^2\s+second\s+FAIL\s+0\.50 s\s+boom$/),
      expect.stringMatching(/^3\s+third\s+SKIPPED\s+0\.00 s\s+not run$/),
    ]);
  });

  it('renders the Events of one object as kubectl describe does, oldest first', () => {
    const ev = (name: string, kind: string, reason: string, at: string, extra: Partial<CoreV1Event> = {}): CoreV1Event => ({
      metadata: { name: `${name}.${reason}` },
      involvedObject: { kind, name },
      type: 'Warning',
      reason,
      message: `${reason} for ${name}`,
      lastTimestamp: new Date(at),
      source: { component: 'mic' },
      ...extra,
    });
    const all = [
      ev('p', 'Pod', 'Later', '2026-01-01T00:00:50Z', { count: 3 }),
      ev('p', 'AzureIdentity', 'OtherKind', '2026-01-01T00:00:00Z'),
      ev('p', 'Pod', 'Earlier', '2026-01-01T00:00:10Z', { type: 'Normal', message: 'a  long\nmessage' }),
    ];
    const mine = eventsAbout(all, { kind: 'Pod', name: 'p' });
    expect(mine.map((e) => e.reason)).toEqual(['Earlier', 'Later']);
    const lines = describeEvents(mine, Date.parse('2026-01-01T00:01:00Z'), 10);
    expect(lines).toEqual([
      'Events:',
      '  Type     Reason   Age       From  Message',
      '  ----     ------   ----      ----  -------',
      '  Normal   Earlier  50s       mic   a long mes…',
      '  Warning  Later    10s (x3)  mic   Later for …',
    ]);
    expect(describeEvents([], 0)).toEqual(['Events:  <none>']);
    expect([formatAge(119_999), formatAge(120_000), formatAge(7_200_000)]).toEqual(['119s', '2m', '2h']);
  });

  it('polls until a value arrives, reports what it last saw on timeout, and stops at a failing guard', async () => {
    let n = 0;
    await expect(pollUntil(() => (++n >= 3 ? n : undefined), { what: 'three', timeoutMs: 5000, intervalMs: 1 })).resolves.toBe(3);
    const timeout = pollUntil((seen) => {
      seen('still 0');
      return false;
    }, { what: 'never', timeoutMs: 30, intervalMs: 5 });
    await expect(timeout).rejects.toThrow(/timed out after 30 ms waiting for never \(last seen: still 0\)/);
    await timeout.catch((err: unknown) => expect(isPollTimeoutError(err)).toBe(true));
    await expect(pollUntil(() => undefined, { what: 'x', timeoutMs: 5000, guard: () => { throw new Error('replica died'); } })).rejects.toThrow('replica died');
  });
});
