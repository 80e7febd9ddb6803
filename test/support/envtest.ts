/**
 * A real kube-apiserver + etcd for tests (the envtest convention of controller-runtime): the two
 * programs come from the folder named by `KUBEBUILDER_ASSETS`.
 *
 * Usage (one server per test file; starting takes about 5 s on 2 cores):
 *
 *     const env = await startEnvtest({ users: [{ name: 'alice', groups: ['devs'] }] });
 *     env.kc                          // KubeConfig, cluster-admin (group system:masters)
 *     env.kubeConfigFor('alice', ['devs'])   // KubeConfig of a declared, non-admin user
 *     await env.stop();               // kills both processes and removes the data dir
 *
 * Users: the API server reads its token file once at start, so every user a test wants a token for
 * is declared up front in {@link EnvtestOptions.users} (name + groups; RBAC adds
 * `system:authenticated`). {@link serviceAccountUser} gives the user name and groups a pod's
 * ServiceAccount authenticates as, so RoleBindings whose subject is a ServiceAccount apply as-is.
 *
 * What a bare API server does NOT do (no controller-manager, scheduler or kubelet), and what tests
 * must do in their place:
 * - no garbage collection: ownerReferences are not followed; delete dependents yourself;
 * - no namespace finalization: a deleted namespace stays `Terminating` (use fresh names per test);
 * - no ServiceAccount token controller (tokens come from the token file here) and the
 *   ServiceAccount admission plugin is off;
 * - no scheduler/kubelet: set `spec.nodeName` yourself, write pod status yourself if a test needs
 *   it, and remove a pod bound to a node with `gracePeriodSeconds: 0` ({@link forceDeletePod}),
 *   otherwise it stays with a `deletionTimestamp` forever;
 * - Deployments/ReplicaSets create nothing; no Endpoints controller; no admission webhooks or
 *   APIServices backed by a Service.
 * CRDs (with CEL rules), Leases, Events, ConfigMaps, RBAC, watch, field selectors and server-side
 * apply behave as on any v1.25 cluster.
 *
 * Both processes run under a small `sh` watchdog that holds a pipe to this process: when this
 * process exits for any reason (even SIGKILL) the pipe closes and the watchdog SIGKILLs the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';

/** A user the token file knows. */
export interface EnvtestUser {
  name: string;
  groups?: string[];
}

/** Options of {@link startEnvtest}. */
export interface EnvtestOptions {
  /** Folder with `kube-apiserver` and `etcd` (default: {@link envtestAssets}). */
  assetsDir?: string;
  /** Non-admin users that get a bearer token (see {@link Envtest.tokenFor}). */
  users?: EnvtestUser[];
  /** Load every CustomResourceDefinition in the `*.yaml` files of this folder and wait until Established. */
  crdDir?: string;
  /** Deadline for `/readyz` (default 60 s). */
  startTimeoutMs?: number;
}

/** A running API server. */
export interface Envtest {
  /** `https://127.0.0.1:PORT`. */
  server: string;
  /** PEM of the server's self-signed serving certificate (trust it as the CA). */
  caPem: string;
  /** Cluster-admin KubeConfig (user `admin`, group `system:masters`). */
  kc: KubeConfig;
  /** Path of a kubeconfig file for the cluster-admin (for kubectl or a controller process). */
  kubeconfigPath: string;
  /** The bearer token of a declared user with exactly these groups; throws if not declared at start. */
  tokenFor(user: string, groups?: string[]): string;
  /** A KubeConfig authenticating as a declared user. */
  kubeConfigFor(user: string, groups?: string[]): KubeConfig;
  /** Writes a kubeconfig file for a declared user (default: the admin) and returns its path. */
  writeKubeconfig(path: string, user?: string, groups?: string[]): Promise<string>;
  /** The temp folder of this run (data, certs, logs `etcd.log`, `kube-apiserver.log`). */
  dir: string;
  /** Stops both processes (SIGKILL) and removes the temp folder; safe to call twice. */
  stop(): Promise<void>;
}

/** Thrown by {@link Envtest.tokenFor} for a user (or group set) not declared at start. */
export class EnvtestUndeclaredUserError extends Error {
  constructor(user: string, groups: string[]) {
    super(`envtest: user ${user} with groups [${groups.join(',')}] was not declared in startEnvtest({ users })`);
    this.name = 'EnvtestUndeclaredUserError';
  }
}
/** Predicate for {@link EnvtestUndeclaredUserError}. */
export const isEnvtestUndeclaredUserError = (e: unknown): e is EnvtestUndeclaredUserError => e instanceof EnvtestUndeclaredUserError;

/** Thrown by {@link startEnvtest} when a process fails to start or the server never becomes ready. */
export class EnvtestStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvtestStartError';
  }
}
/** Predicate for {@link EnvtestStartError}. */
export const isEnvtestStartError = (e: unknown): e is EnvtestStartError => e instanceof EnvtestStartError;

/**
 * The absolute assets folder from `KUBEBUILDER_ASSETS` when it holds both programs, else undefined.
 * Tests use this to choose between the real server and skipping the tier.
 */
export function envtestAssets(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.KUBEBUILDER_ASSETS;
  if (!dir) return undefined;
  const abs = resolve(dir);
  return existsSync(join(abs, 'kube-apiserver')) && existsSync(join(abs, 'etcd')) ? abs : undefined;
}

/** User name and groups a ServiceAccount authenticates as (so ServiceAccount subjects in bindings apply). */
export function serviceAccountUser(namespace: string, name: string): Required<EnvtestUser> {
  return { name: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`] };
}

/** Deletes a pod at once (`gracePeriodSeconds: 0`): without a kubelet nothing else removes a pod bound to a node. */
export async function forceDeletePod(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
}

/**
 * Creates (or leaves) every CRD in the YAML files of `dir` and waits until each is Established.
 * Sent as raw JSON: client-node's typed CRD model would drop `x-kubernetes-*`, `default` and `enum` keys.
 */
export async function installCrds(kc: KubeConfig, dir: string, timeoutMs = 30_000): Promise<string[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const file of (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of YAML.parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      const crd = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const status = await postJson(kc, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      if (status.code !== 201 && status.code !== 409) throw new EnvtestStartError(`envtest: creating CRD ${crd.metadata?.name}: ${status.code} ${status.text.slice(0, 500)}`);
      names.push(crd.metadata?.name as string);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const got = await api.readCustomResourceDefinition({ name });
      if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new EnvtestStartError(`envtest: CRD ${name} not Established`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return names;
}

/** POSTs `body` as JSON with the credentials of `kc`; resolves with the status code and body text. */
async function postJson(kc: KubeConfig, path: string, body: unknown): Promise<{ code: number; text: string }> {
  const opts: RequestOptions = { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  opts.headers = { ...(opts.headers as Record<string, string>), 'Content-Type': 'application/json' };
  return new Promise((resolvePost, reject) => {
    const req = httpsRequest(new URL(path, kc.getCurrentCluster()?.server), opts, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolvePost({ code: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** A free TCP port on 127.0.0.1 (bound and released; a tiny race with other processes is accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

// The watchdog: runs the program with stdin from /dev/null; a background reader holds our stdin
// (a pipe from the test process) and SIGKILLs the program when it reaches end-of-file.
const WATCHDOG = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'c=$!',
  '( while read -r _ <&3; do :; done; kill -KILL $c 2>/dev/null ) &',
  'w=$!',
  'wait $c; rc=$?',
  'kill $w 2>/dev/null',
  'exit $rc',
].join('\n');

interface Supervised {
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

async function supervise(program: string, args: string[], logPath: string): Promise<Supervised> {
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(logPath, 'a');
  const child = spawn('sh', ['-c', WATCHDOG, 'envtest-watchdog', program, ...args], { stdio: ['pipe', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.stdin?.on('error', () => undefined);
  return {
    child,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      const killed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]);
      if (!killed) child.kill('SIGKILL');
    },
  };
}

function csvField(s: string): string {
  return /[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const userKey = (name: string, groups: string[]): string => `${name}\u0000${[...groups].sort().join(',')}`;

async function getReadyz(server: string, token: string): Promise<string> {
  return new Promise((resolveGet) => {
    const req = httpsRequest(`${server}/readyz`, { rejectUnauthorized: false, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolveGet(res.statusCode === 200 ? text : `${res.statusCode}`));
    });
    req.on('error', (e) => resolveGet(String(e)));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function kubeConfigOf(server: string, caPem: string, user: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'envtest', server, caData: Buffer.from(caPem).toString('base64'), skipTLSVerify: false }],
    users: [{ name: user, token }],
    contexts: [{ name: 'envtest', cluster: 'envtest', user }],
    currentContext: 'envtest',
  });
  return kc;
}

function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'envtest', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'envtest', context: { cluster: 'envtest', user } }],
    'current-context': 'envtest',
  });
}

/** Starts etcd and kube-apiserver on free loopback ports with a fresh data dir; see the module doc. */
export async function startEnvtest(o: EnvtestOptions = {}): Promise<Envtest> {
  const assets = o.assetsDir ? resolve(o.assetsDir) : envtestAssets();
  if (!assets) throw new EnvtestStartError('envtest: KUBEBUILDER_ASSETS does not name a folder with kube-apiserver and etcd');
  const dir = await mkdtemp(join(tmpdir(), 'envtest-'));
  const procs: Supervised[] = [];
  let stopped = false;
  const onExit = (): void => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    // apiserver first (so it does not log etcd errors), then etcd.
    for (const p of [...procs].reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const tokens = new Map<string, string>();
    const adminToken = randomBytes(24).toString('hex');
    const lines = [`${adminToken},admin,admin-uid,system:masters`];
    tokens.set(userKey('admin', ['system:masters']), adminToken);
    for (const [i, u] of (o.users ?? []).entries()) {
      const token = randomBytes(24).toString('hex');
      const groups = u.groups ?? [];
      tokens.set(userKey(u.name, groups), token);
      lines.push([token, csvField(u.name), `uid-${i}`, ...(groups.length ? [csvField(groups.join(','))] : [])].join(','));
    }
    await writeFile(join(dir, 'tokens.csv'), lines.join('\n') + '\n', { mode: 0o600 });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    await writeFile(join(dir, 'sa.pub'), publicKey);
    await writeFile(join(dir, 'sa.key'), privateKey, { mode: 0o600 });

    const [etcdPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = await supervise(join(assets, 'etcd'), [
      `--data-dir=${join(dir, 'etcd')}`, `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`, `--initial-cluster=default=${peerUrl}`,
      '--name=default', '--unsafe-no-fsync=true', '--log-level=warn',
    ], join(dir, 'etcd.log'));
    procs.push(etcd);
    const apiserver = await supervise(join(assets, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
      `--secure-port=${securePort}`, `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`, '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24', '--disable-admission-plugins=ServiceAccount', '--allow-privileged=true',
    ], join(dir, 'kube-apiserver.log'));
    procs.push(apiserver);

    const server = `https://127.0.0.1:${securePort}`;
    const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
    let last = '';
    for (;;) {
      for (const [name, p] of [['etcd', etcd], ['kube-apiserver', apiserver]] as const) {
        if (p.child.exitCode !== null) {
          const log = await readFile(join(dir, `${name}.log`), 'utf8').catch(() => '');
          throw new EnvtestStartError(`envtest: ${name} exited with ${p.child.exitCode}: ${log.slice(-2000)}`);
        }
      }
      last = await getReadyz(server, adminToken);
      if (last === 'ok') break;
      if (Date.now() > deadline) throw new EnvtestStartError(`envtest: ${server}/readyz not ok in time (last: ${last.slice(0, 500)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const caPem = await readFile(join(dir, 'certs', 'apiserver.crt'), 'utf8');

    const tokenFor = (user: string, groups: string[] = []): string => {
      const token = user === 'admin' && groups.length === 0 ? adminToken : tokens.get(userKey(user, groups));
      if (!token) throw new EnvtestUndeclaredUserError(user, groups);
      return token;
    };
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(server, caPem, 'admin', adminToken), { mode: 0o600 });
    const kc = kubeConfigOf(server, caPem, 'admin', adminToken);
    if (o.crdDir) await installCrds(kc, o.crdDir);
    return {
      server,
      caPem,
      kc,
      kubeconfigPath,
      dir,
      tokenFor,
      kubeConfigFor: (user, groups) => kubeConfigOf(server, caPem, user, tokenFor(user, groups)),
      async writeKubeconfig(path, user = 'admin', groups) {
        await writeFile(path, kubeconfigYaml(server, caPem, user, tokenFor(user, groups)), { mode: 0o600 });
        return path;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
