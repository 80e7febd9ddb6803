/**
 * MIC replicas as child processes: spawn with captured logs, liveness checks, tail of the log, and
 * a clean stop (SIGTERM, then SIGKILL after a grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

/** How to start one replica. */
export interface ReplicaSpec {
  /** Replica name; also its `--leader-election-instance`. */
  name: string;
  /** The Node binary (normally `process.execPath`). */
  nodePath: string;
  /** `dist/controller/main.js`. */
  mainPath: string;
  /** Controller flags. */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** File receiving the replica's stdout and stderr. */
  logFile: string;
  /** Port of `/healthz` (the value passed as `--http-probe-port`). */
  probePort: number;
}

/** A replica ended while it was expected to run. */
export class ReplicaExitedError extends Error {
  override readonly name = 'ReplicaExitedError';
  readonly replica: string;

  constructor(replica: string, how: string) {
    super(`MIC replica ${replica} exited unexpectedly (${how})`);
    this.replica = replica;
  }
}

/** True for {@link ReplicaExitedError}. */
export function isReplicaExitedError(e: unknown): e is ReplicaExitedError {
  return e instanceof ReplicaExitedError;
}

/** Asks the OS for a free loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** One running (or ended) controller process. */
export class Replica {
  readonly name: string;
  readonly logFile: string;
  readonly probePort: number;
  readonly #child: ChildProcess;
  readonly #closed: Promise<void>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #stopping = false;

  private constructor(spec: ReplicaSpec, child: ChildProcess, log: WriteStream) {
    this.name = spec.name;
    this.logFile = spec.logFile;
    this.probePort = spec.probePort;
    this.#child = child;
    this.#closed = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        // Record the exit only once the log is flushed, so a tail read after it is complete.
        log.end(() => {
          this.#exit = { code, signal };
          resolve();
        });
      });
    });
  }

  /** Spawns the replica; its output goes to `spec.logFile` (truncated first). */
  static async start(spec: ReplicaSpec): Promise<Replica> {
    const log = createWriteStream(spec.logFile, { flags: 'w' });
    await new Promise<void>((resolve, reject) => {
      log.once('open', () => resolve());
      log.once('error', reject);
    });
    // Own process group: a terminal Ctrl-C reaches only the demo, which then stops the replicas
    // before the emulators (instead of everything racing).
    const child = spawn(spec.nodePath, [spec.mainPath, ...spec.args], { env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const replica = new Replica(spec, child, log);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    return replica;
  }

  /** Process id of the replica. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** How the process ended, or undefined while it runs. */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.#exit;
  }

  /** Throws {@link ReplicaExitedError} when the process has ended without being asked to. */
  assertRunning(): void {
    if (this.#exit && !this.#stopping) {
      throw new ReplicaExitedError(this.name, this.#exit.signal ? `signal ${this.#exit.signal}` : `exit code ${String(this.#exit.code)}`);
    }
  }

  /** Status and body of `GET /healthz` on the probe port (throws when nothing answers). */
  healthz(timeoutMs = 2000): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = get({ host: '127.0.0.1', port: this.probePort, path: '/healthz', timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
        res.once('error', reject);
      });
      req.once('timeout', () => req.destroy(new Error('healthz timed out')));
      req.once('error', reject);
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone and the log flushed. */
  async stop(graceMs = 5000): Promise<void> {
    this.#stopping = true;
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      try {
        await this.#closed;
      } finally {
        clearTimeout(timer);
      }
    }
    await this.#closed;
  }

  /** Synchronous last resort for `process.on('exit')`: SIGKILL if still running. */
  killNow(): void {
    this.#stopping = true;
    if (!this.#exit && this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  /** The last `n` lines of the replica's log. */
  async tail(n: number): Promise<string[]> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-n);
  }
}
