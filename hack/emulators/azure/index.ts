/**
 * Azure emulator: ARM (Compute VMSS/VM identities, Managed Identity), Entra ID client-credentials
 * and IMDS token endpoints on loopback, for the unmodified @azure/* SDK clients. See README.md.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AuditLog } from './audit.js';
import { createControls, type AzureControls } from './controls.js';
import type { EmulatorCore } from './core.js';
import { requestListener } from './dispatch.js';
import { EmulatedClock } from './emulated-clock.js';
import { FaultInjector } from './faults.js';
import { OperationRegistry } from './operations.js';
import { AzureStore } from './store.js';
import { Throttler } from './throttling.js';
import { createTlsMaterial } from './tls.js';
import { TokenIssuer } from './tokens.js';

export type { AzureControls } from './controls.js';
export type { AuditEntry, Counters } from './audit.js';
export type { FailRule } from './faults.js';
export type { IdentityChange, IdentityWrite } from './store.js';
export { identityId, vmId, vmssId, vmProviderId, vmssInstanceProviderId } from './resource-ids.js';
export { testCaPaths } from './tls.js';

/** Options of {@link startAzureEmulator}. */
export interface AzureEmulatorOptions {
  /** Listen address; loopback only (default 127.0.0.1). */
  host?: string;
  /** HTTPS port (default 0 = any free port). */
  port?: number;
  /** `test` (default): server cert from the committed test-only CA; `generate`: a fresh CA. */
  ca?: 'test' | 'generate';
  /** 1 = real time; 60 = one emulated minute per real second. Scales all latencies and bucket refills. */
  timeScale?: number;
  /** Emulated ms a PATCH takes (default 200). */
  lroLatencyMs?: number;
  /** Total user-assigned identities per VM/VMSS (default 1000). */
  maxIdentitiesPerResource?: number;
  /** Token buckets on (default true). */
  throttling?: boolean;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of issued tokens in real seconds (default 3599; emulator extension). */
  tokenLifetimeSeconds?: number;
  /** Plain-HTTP IMDS port (default 0 = any free port; emulator extension). */
  imdsPort?: number;
}

/** A running emulator. */
export interface AzureEmulator {
  /** `https://127.0.0.1:PORT`: ARM endpoint, Entra ID authority host, and IMDS base (HTTPS). */
  armUrl: string;
  authorityHost: string;
  /** `http://127.0.0.1:PORT2`: plain-HTTP IMDS base for `AZURE_POD_IDENTITY_AUTHORITY_HOST`. */
  imdsUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The CA that issued the server certificate (PEM). */
  caPem: string;
  controls: AzureControls;
  stop(): Promise<void>;
  /** go-autorest Environment file content pointing at the emulator. */
  environmentJson(): object;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the emulator on loopback. */
export async function startAzureEmulator(opts: AzureEmulatorOptions = {}): Promise<AzureEmulator> {
  const host = opts.host ?? '127.0.0.1';
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) throw new RangeError('the Azure emulator listens on loopback only');
  const tenantId = opts.tenantId ?? randomUUID();
  const clientId = opts.clientId ?? randomUUID();
  const clientSecret = opts.clientSecret ?? `emu-secret-${randomUUID()}`;
  const tls = await createTlsMaterial(opts.ca ?? 'test');

  const core: EmulatorCore = {
    store: new AzureStore(tenantId),
    ops: new OperationRegistry(),
    clock: new EmulatedClock(opts.timeScale ?? 1),
    throttler: new Throttler(opts.throttling ?? true),
    tokens: new TokenIssuer(opts.tokenLifetimeSeconds ?? 3599),
    audit: new AuditLog(),
    faults: new FaultInjector(),
    sp: { tenantId, clientId, clientSecret, objectId: randomUUID() },
    settings: { lroLatencyMs: opts.lroLatencyMs ?? 200, maxIdentitiesPerResource: opts.maxIdentitiesPerResource ?? 1000 },
    baseUrl: '',
  };

  const https = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, requestListener(core, 'arm'));
  const imds = createHttpServer(requestListener(core, 'imds'));
  const armPort = await listen(https, opts.port ?? 0, host);
  let imdsPort: number;
  try {
    imdsPort = await listen(imds, opts.imdsPort ?? 0, host);
  } catch (err) {
    await close(https);
    throw err;
  }
  const armUrl = `https://${urlHost(host)}:${armPort}`;
  core.baseUrl = armUrl;

  let stopped = false;
  return {
    armUrl,
    authorityHost: armUrl,
    imdsUrl: `http://${urlHost(host)}:${imdsPort}`,
    tenantId,
    clientId,
    clientSecret,
    caPem: tls.caPem,
    controls: createControls(core),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await Promise.all([close(https), close(imds)]);
    },
    environmentJson: () => ({
      name: 'AzureStackCloud',
      managementPortalURL: armUrl,
      resourceManagerEndpoint: `${armUrl}/`,
      activeDirectoryEndpoint: `${armUrl}/`,
      activeDirectoryResourceID: 'https://management.azure.com/',
      tokenAudience: 'https://management.azure.com/',
      resourceManagerVMDNSSuffix: 'cloudapp.emulator.local',
      storageEndpointSuffix: 'core.emulator.local',
      keyVaultDNSSuffix: 'vault.emulator.local',
      serviceManagementEndpoint: 'https://management.azure.com/',
    }),
  };
}
