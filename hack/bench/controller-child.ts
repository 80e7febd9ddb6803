/**
 * Runs the controller in its own child process (the bundle of `mic-process.ts`, as production runs
 * the bundle of `main.ts`), waits until it leads with its sync loop running (`/healthz` says
 * `Active`), samples its CPU/RSS, and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemorySample, ProbeMessage } from './memory-probe.js';
import { sampleProcess, type ProcSample } from './proc-stats.js';

/** Raised when the controller process exits early or never becomes active. */
export class ControllerProcessError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ControllerProcessError';
  }
}

/** True for {@link ControllerProcessError}. */
export function isControllerProcessError(e: unknown): e is ControllerProcessError {
  return e instanceof ControllerProcessError;
}

/** Options of {@link startController}. */
export interface ControllerChildOptions {
  /** Files written by the emulator launcher. */
  files: { kubeconfig: string; azureJson: string; environment: string; ca: string };
  /** Extra controller flags (e.g. `--unassign-grace-period=5m`). */
  flags: string[];
  /** Time scale of the emulated Azure (the ARM client side runs on it too). */
  timeScale: number;
  /** Where the controller's stdout/stderr go. */
  logFile: string;
  /** How long to wait for `/healthz` = Active (real ms). */
  readyTimeoutMs?: number;
}

/** A running controller process. */
export interface ControllerChild {
  pid: number;
  /** Resource use now (undefined once the process is gone). */
  sample(): ProcSample | undefined;
  /** Exit code if the process has already exited. */
  exitCode(): number | null;
  /** `process.memoryUsage()` samples the controller sent so far (about one per second). */
  memorySamples(): readonly MemorySample[];
  /** Asks the controller to write a V8 heap snapshot to `file`; resolves with the file written. */
  heapSnapshot(file: string): Promise<string>;
  /** SIGTERM, then SIGKILL after a while; resolves with the last sample taken before exit. */
  stop(): Promise<ProcSample | undefined>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The controller the benchmark runs: the bundle of `mic-process.ts` (`dist/bundle/bench`, made by
 * `make build` with the same esbuild options as the image's `dist/bundle/controller`), so it
 * measures what production runs. `MIC_BENCH_UNBUNDLED=1` runs tsc's output instead (for comparison).
 */
export function launcherPath(env: NodeJS.ProcessEnv = process.env): string {
  const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  if (env.MIC_BENCH_UNBUNDLED === '1') return path.join(dist, 'hack', 'bench', 'mic-process.js');
  const bundled = path.join(dist, 'bundle', 'bench', 'mic-process.js');
  if (!existsSync(bundled)) throw new ControllerProcessError(`${bundled} is missing: run make build (it bundles after tsc)`);
  return bundled;
}

/**
 * V8 flags of the controller, matching the Deployment's NODE_OPTIONS: the old-space cap (75 % of its
 * 1Gi limit), and a 4 MiB young-generation semi-space (V8's default grows it to 16 MiB, which at
 * 10,000 pods kept ~100 MiB more RSS; see bench/RESULTS.md, notes).
 */
export const CONTROLLER_NODE_OPTIONS = '--max-old-space-size=768 --max-semi-space-size=4';

/**
 * glibc malloc settings of the controller, as the image sets them (Dockerfile `ENV`): at most two
 * arenas, and fixed trim/mmap thresholds, which turn off glibc's dynamic thresholds that otherwise
 * keep up to tens of MiB of freed memory after start-up (bench/RESULTS.md, notes). A harness
 * variable of the same name overrides one; an empty value leaves glibc's default.
 */
export const CONTROLLER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '131072',
  MALLOC_MMAP_THRESHOLD_: '131072',
};

/** {@link CONTROLLER_MALLOC_ENV} with the overrides of `env` applied (empty values dropped). */
export function controllerMallocEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(CONTROLLER_MALLOC_ENV)) {
    const v = env[name] ?? value;
    if (v !== '') out[name] = v;
  }
  return out;
}

/** Starts the controller and waits until it is the active leader. */
export async function startController(o: ControllerChildOptions): Promise<ControllerChild> {
  const [probePort, metricsPort] = [await freePort(), await freePort()];
  const args = [
    launcherPath(),
    `--kubeconfig=${o.files.kubeconfig}`,
    `--cloudconfig=${o.files.azureJson}`,
    `--http-probe-port=${probePort}`,
    `--prometheus-port=${metricsPort}`,
    '--leader-election-instance=mic-bench',
    '--log-format=json',
    ...o.flags,
  ];
  const log = createWriteStream(o.logFile);
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_EXTRA_CA_CERTS: o.files.ca,
      AZURE_ENVIRONMENT_FILEPATH: o.files.environment,
      MIC_POD_NAMESPACE: 'default',
      MIC_BENCH_TIME_SCALE: String(o.timeScale),
      MIC_BENCH_MEMORY_INTERVAL_MS: '1000',
      // As deployed: config/base/deployment.yaml caps the V8 heap the same way.
      NODE_OPTIONS: process.env.MIC_BENCH_NODE_OPTIONS ?? CONTROLLER_NODE_OPTIONS,
      // As the image runs it: the Dockerfile sets the same glibc malloc variables.
      ...controllerMallocEnv(),
    },
    // fd 3: IPC for the memory probe (see memory-probe.ts).
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const memory: MemorySample[] = [];
  let snapshotSeq = 0;
  const snapshotWaiters = new Map<number, { resolve: (file: string) => void; reject: (err: Error) => void }>();
  child.on('message', (raw: unknown) => {
    const msg = raw as ProbeMessage;
    if (msg?.type === 'memory') memory.push(msg.sample);
    else if (msg?.type === 'heap-snapshot') {
      const waiter = snapshotWaiters.get(msg.id);
      snapshotWaiters.delete(msg.id);
      if (msg.file !== undefined) waiter?.resolve(msg.file);
      else waiter?.reject(new ControllerProcessError(`heap snapshot failed: ${msg.error ?? 'unknown error'}`));
    }
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let exited: number | null = null;
  let lastSample: ProcSample | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = code ?? (signal ? 128 : 1);
      for (const w of snapshotWaiters.values()) w.reject(new ControllerProcessError('controller exited before writing the heap snapshot'));
      snapshotWaiters.clear();
      resolve();
    });
  });
  const pid = child.pid ?? -1;
  const sample = (): ProcSample | undefined => {
    const s = sampleProcess(pid);
    if (s) lastSample = s;
    return s;
  };
  const handle: ControllerChild = {
    pid,
    sample,
    exitCode: () => exited,
    memorySamples: () => memory,
    heapSnapshot: (file) =>
      new Promise<string>((resolve, reject) => {
        if (exited !== null) return reject(new ControllerProcessError('controller is not running'));
        const id = ++snapshotSeq;
        snapshotWaiters.set(id, { resolve, reject });
        child.send({ type: 'heap-snapshot', id, file });
      }),
    stop: async () => {
      if (exited === null) {
        sample();
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
        await exitPromise;
        clearTimeout(timer);
      }
      log.end();
      return lastSample;
    },
  };

  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited !== null) throw new ControllerProcessError(`controller exited with code ${String(exited)} before becoming active (see ${o.logFile})`);
    try {
      const res = await fetch(`http://127.0.0.1:${probePort}/healthz`);
      if ((await res.text()).trim() === 'Active') return handle;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await handle.stop();
      throw new ControllerProcessError(`controller did not become active within ${o.readyTimeoutMs ?? 30_000} ms (see ${o.logFile})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
