/**
 * Standalone Kubernetes API emulator for manual use:
 *   node dist/hack/emulators/kube/main.js [--port N] [--host H] [--token T] [--kubeconfig PATH] [--crds DIR]
 * Prints the URL, writes the kubeconfig when asked, and runs until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startKubeEmulator } from './index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      token: { type: 'string' },
      kubeconfig: { type: 'string' },
      crds: { type: 'string' },
      namespace: { type: 'string', multiple: true },
    },
  });
  const emulator = await startKubeEmulator({
    host: values.host,
    port: Number(values.port),
    ...(values.token ? { token: values.token } : {}),
    ...(values.crds ? { crdDir: values.crds } : {}),
    ...(values.namespace ? { namespaces: values.namespace } : {}),
  });
  if (values.kubeconfig) await emulator.writeKubeconfig(values.kubeconfig);
  process.stdout.write(`${JSON.stringify({ msg: 'kube emulator listening', url: emulator.url, kubeconfig: values.kubeconfig ?? null })}\n`);
  const stop = (): void => {
    void emulator.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
