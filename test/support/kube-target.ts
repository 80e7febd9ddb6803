/**
 * Which Kubernetes API server the Kubernetes-facing suites run against. The jest project `envtest`
 * (present when `KUBEBUILDER_ASSETS` names the assets) sets `KUBE_TARGET=envtest` through
 * test/support/envtest-project-setup.ts, so the same test files run once against the emulator and
 * once against a real kube-apiserver started by {@link startEnvtest}.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startKubeEmulator, type KubeEmulator, type KubeEmulatorOptions } from '../../hack/emulators/kube/index.js';
import { startEnvtest, type Envtest, type EnvtestUser } from './envtest.js';

/** `emulator` (default) or `envtest` (a real kube-apiserver). */
export type KubeTargetName = 'emulator' | 'envtest';

/** The target of this test file. */
export const KUBE_TARGET: KubeTargetName = process.env.KUBE_TARGET === 'envtest' ? 'envtest' : 'emulator';

/** True when the file runs against the emulator (emulator-only controls are available). */
export const ON_EMULATOR_TARGET = KUBE_TARGET === 'emulator';

/** A started server of either kind. */
export interface KubeTarget {
  name: KubeTargetName;
  /** Cluster-admin access. */
  kc: KubeConfig;
  /** The emulator, on the emulator target. */
  emulator: KubeEmulator | undefined;
  /** The real server, on the envtest target. */
  envtest: Envtest | undefined;
  /** Writes a cluster-admin kubeconfig file (for kubectl or a controller process). */
  writeKubeconfig(path: string): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@link startKubeTarget}. */
export interface KubeTargetOptions {
  /** CRDs to install (a folder of YAML files). */
  crdDir?: string;
  /** Namespaces created at start. */
  namespaces?: string[];
  /** Emulator-only options. */
  emulator?: KubeEmulatorOptions;
  /** Token users of the real server. */
  users?: EnvtestUser[];
}

/** Starts the server this file runs against ({@link KUBE_TARGET}). */
export async function startKubeTarget(o: KubeTargetOptions = {}): Promise<KubeTarget> {
  if (KUBE_TARGET === 'emulator') {
    const emulator = await startKubeEmulator({ crdDir: o.crdDir, namespaces: o.namespaces, ...o.emulator });
    return {
      name: 'emulator',
      kc: emulator.kubeConfig(),
      emulator,
      envtest: undefined,
      writeKubeconfig: (path) => emulator.writeKubeconfig(path),
      stop: () => emulator.stop(),
    };
  }
  const envtest = await startEnvtest({ crdDir: o.crdDir, users: o.users });
  try {
    const core = envtest.kc.makeApiClient(CoreV1Api);
    for (const name of o.namespaces ?? []) await core.createNamespace({ body: { metadata: { name } } });
  } catch (e) {
    await envtest.stop();
    throw e;
  }
  return {
    name: 'envtest',
    kc: envtest.kc,
    emulator: undefined,
    envtest,
    writeKubeconfig: async (path) => {
      await envtest.writeKubeconfig(path);
    },
    stop: () => envtest.stop(),
  };
}
