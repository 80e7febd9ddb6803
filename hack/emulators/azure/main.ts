/**
 * Standalone Azure emulator: `node dist/hack/emulators/azure/main.js --dir <dir> [--port n]
 * [--ca test|generate] [--time-scale x] [--lro-latency ms] [--topology file.json]`.
 * Writes `<dir>/ca.pem` and `<dir>/azure-emulator.json` (URLs and credentials), then serves until
 * SIGTERM/SIGINT.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyTopology, defaultTopology, type Topology } from '../topology.js';
import { startAzureEmulator, type AzureEmulatorOptions } from './index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: false,
    options: {
      dir: { type: 'string' },
      port: { type: 'string' },
      ca: { type: 'string' },
      'time-scale': { type: 'string' },
      'lro-latency': { type: 'string' },
      topology: { type: 'string' },
    },
  });
  const args = new Map(Object.entries(values).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const dir = path.resolve(args.get('dir') ?? '.state/azure');
  const opts: AzureEmulatorOptions = { ca: args.get('ca') === 'generate' ? 'generate' : 'test' };
  if (args.has('port')) opts.port = Number(args.get('port'));
  if (args.has('time-scale')) opts.timeScale = Number(args.get('time-scale'));
  if (args.has('lro-latency')) opts.lroLatencyMs = Number(args.get('lro-latency'));
  const topology: Topology = args.has('topology')
    ? (JSON.parse(await readFile(args.get('topology') ?? '', 'utf8')) as Topology)
    : defaultTopology();

  const emu = await startAzureEmulator(opts);
  await applyTopology(emu, undefined, topology);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'ca.pem'), emu.caPem);
  await writeFile(
    path.join(dir, 'azure-emulator.json'),
    JSON.stringify({ armUrl: emu.armUrl, imdsUrl: emu.imdsUrl, tenantId: emu.tenantId, clientId: emu.clientId, clientSecret: emu.clientSecret, subscriptionId: topology.subscription, resourceGroup: topology.resourceGroup }, null, 2) + '\n',
    { mode: 0o600 },
  );
  console.error(JSON.stringify({ msg: 'Azure emulator ready', armUrl: emu.armUrl, imdsUrl: emu.imdsUrl, dir }));
  const shutdown = (): void => {
    emu.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  console.error(JSON.stringify({ msg: 'Azure emulator failed to start', err: err instanceof Error ? err.message : String(err) }));
  process.exit(1);
});
