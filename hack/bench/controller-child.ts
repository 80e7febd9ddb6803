/**
 * Runs the controller in its own child process (see `mic-process.ts`), waits until it leads with
 * its sync loop running (`/healthz` says `Active`), samples its CPU/RSS, and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

function launcherPath(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'mic-process.js');
}

/** V8 heap cap of the controller, matching the Deployment's NODE_OPTIONS (75 % of its 1Gi limit). */
export const CONTROLLER_NODE_OPTIONS = '--max-old-space-size=768';

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
      // As deployed: config/base/deployment.yaml caps the V8 heap the same way.
      NODE_OPTIONS: process.env.MIC_BENCH_NODE_OPTIONS ?? CONTROLLER_NODE_OPTIONS,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let exited: number | null = null;
  let lastSample: ProcSample | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = code ?? (signal ? 128 : 1);
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
