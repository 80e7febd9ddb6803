/**
 * Environment for the Kubernetes conformance suite: the emulator by default, a real kube-apiserver
 * started from `KUBEBUILDER_ASSETS` when `KUBE_TARGET=envtest` (the jest project `envtest`), or any
 * API server when `KUBE_CONFORMANCE_KUBECONFIG` names a kubeconfig. Also a kubectl runner and a poll helper.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { RequestOptions } from 'node:https';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { KubeEmulator } from '../../hack/emulators/kube/index.js';
import { startKubeEmulator } from '../../hack/emulators/kube/index.js';
import { startEnvtest, type Envtest } from './envtest.js';
import { KUBE_TARGET } from './kube-target.js';

/** True when the suite runs against the emulator (emulator-only controls are available). */
export const ON_EMULATOR = !process.env.KUBE_CONFORMANCE_KUBECONFIG && KUBE_TARGET === 'emulator';

/** Name of the server kind the suite runs against, for test titles. */
export const SERVER_KIND = ON_EMULATOR ? 'emulator' : process.env.KUBE_CONFORMANCE_KUBECONFIG ? 'kubeconfig' : 'kube-apiserver';

/** Repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `crds/` when it holds CRD files, else the suite's fixture CRDs (same kinds and printer columns). */
export function crdDirectory(): string {
  const real = join(REPO_ROOT, 'crds');
  if (existsSync(real) && readdirSync(real).some((f) => /\.ya?ml$/.test(f))) return real;
  return join(REPO_ROOT, 'test/conformance/fixtures/crds');
}

/** Result of one kubectl run. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Answer of {@link ConformanceEnv.raw}. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown> | undefined;
}

/** Sends one request to the cluster of `kc` with its credentials. */
export async function rawRequest(kc: KubeConfig, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const server = kc.getCurrentCluster()?.server as string;
  const url = new URL(path, server);
  const opts: RequestOptions = { method, headers: { Accept: 'application/json', ...headers } };
  await kc.applyToHTTPSOptions(opts);
  opts.headers = { ...(opts.headers as Record<string, string>), ...headers };
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  if (payload !== undefined && !(opts.headers as Record<string, string>)['Content-Type']) (opts.headers as Record<string, string>)['Content-Type'] = 'application/json';
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolveReq, reject) => {
    const req = send(url, opts, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        resolveReq({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A running conformance environment. */
export interface ConformanceEnv {
  kc: KubeConfig;
  kubeconfigPath: string;
  /** The emulator, when {@link ON_EMULATOR}. */
  emulator: KubeEmulator | undefined;
  /** The real API server, when `KUBE_TARGET=envtest`. */
  envtest: Envtest | undefined;
  /** A fresh namespace for this test file. */
  namespace: string;
  /** Runs kubectl with this environment's kubeconfig and a private cache dir. */
  kubectl(args: string[], stdin?: string): Promise<KubectlResult>;
  /** Starts `kubectl args` and resolves with the first `lines` stdout lines (then kills it). */
  kubectlLines(args: string[], lines: number, onStarted?: () => Promise<void>, timeoutMs?: number): Promise<string[]>;
  /** A raw HTTP request with the environment's credentials; the body is parsed as JSON when possible. */
  raw(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse>;
  /** Extra kubectl flags for create/apply (`--validate=false` on clients older than 1.27). */
  validateFlags: string[];
  stop(): Promise<void>;
}

/** Polls `cond` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function runKubectl(base: string[], args: string[], stdin?: string): Promise<KubectlResult> {
  return new Promise((resolveRun) => {
    const child = execFile('kubectl', [...base, ...args], { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

async function kubectlMinor(base: string[]): Promise<number> {
  const r = await runKubectl(base, ['version', '--client', '-o', 'json']);
  try {
    return parseInt(String((JSON.parse(r.stdout) as { clientVersion: { minor: string } }).clientVersion.minor), 10);
  } catch {
    return 0;
  }
}

/** Starts the environment for one test file. */
export async function startConformanceEnv(namespacePrefix: string): Promise<ConformanceEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-conformance-'));
  let emulator: KubeEmulator | undefined;
  let envtest: Envtest | undefined;
  let kubeconfigPath: string;
  const kc = new KubeConfig();
  if (process.env.KUBE_CONFORMANCE_KUBECONFIG) {
    kubeconfigPath = process.env.KUBE_CONFORMANCE_KUBECONFIG;
    kc.loadFromFile(kubeconfigPath);
  } else if (KUBE_TARGET === 'envtest') {
    envtest = await startEnvtest();
    kubeconfigPath = envtest.kubeconfigPath;
    kc.loadFromFile(kubeconfigPath);
  } else {
    emulator = await startKubeEmulator({ bookmarkIntervalMs: 200 });
    kubeconfigPath = join(dir, 'kubeconfig');
    await emulator.writeKubeconfig(kubeconfigPath);
    kc.loadFromClusterAndUser({ name: 'emulator', server: emulator.url, skipTLSVerify: true }, { name: 'emulator', token: emulator.token });
  }
  const base = ['--kubeconfig', kubeconfigPath, '--cache-dir', join(dir, 'cache'), '--request-timeout', '15s'];
  const validateFlags = (await kubectlMinor(base)) >= 27 ? [] : ['--validate=false'];
  const namespace = `${namespacePrefix}-${Math.random().toString(36).slice(2, 8)}`;
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });

  const kubectlLines: ConformanceEnv['kubectlLines'] = (args, count, onStarted, timeoutMs = 10_000) =>
    new Promise((resolveLines, reject) => {
      const child = spawn('kubectl', [...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: string[] = [];
      let buf = '';
      let stderr = '';
      let started = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`kubectl ${args.join(' ')}: got ${lines.length}/${count} lines: ${JSON.stringify(lines)} ${stderr}`));
      }, timeoutMs);
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        lines.push(...parts);
        if (lines.length >= 1 && onStarted && !started) {
          started = true;
          void onStarted().catch(reject);
        }
        if (lines.length >= count) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolveLines(lines.slice(0, count));
        }
      });
    });

  return {
    kc,
    kubeconfigPath,
    emulator,
    envtest,
    namespace,
    validateFlags,
    kubectl: (args, stdin) => runKubectl(base, args, stdin),
    raw: (method, path, body, headers) => rawRequest(kc, method, path, body, headers),
    kubectlLines,
    stop: async () => {
      try {
        await core.deleteNamespace({ name: namespace });
      } catch {
        // best effort
      }
      if (emulator) await emulator.stop();
      if (envtest) await envtest.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
