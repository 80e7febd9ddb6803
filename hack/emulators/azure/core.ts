/** The emulator's shared state, handed to every request handler. */
import type { AuditLog } from './audit.js';
import type { EmulatedClock } from './emulated-clock.js';
import type { FaultInjector } from './faults.js';
import type { OperationRegistry } from './operations.js';
import type { AzureStore } from './store.js';
import type { Throttler } from './throttling.js';
import type { ServicePrincipal } from './token-endpoints.js';
import type { TokenIssuer } from './tokens.js';

/** Adjustable behaviour. */
export interface EmulatorSettings {
  /** Emulated ms a PATCH operation takes. */
  lroLatencyMs: number;
  /** Total user-assigned identities allowed per VM/VMSS. */
  maxIdentitiesPerResource: number;
}

/** Everything a handler may touch. */
export interface EmulatorCore {
  store: AzureStore;
  ops: OperationRegistry;
  clock: EmulatedClock;
  throttler: Throttler;
  tokens: TokenIssuer;
  audit: AuditLog;
  faults: FaultInjector;
  sp: ServicePrincipal;
  settings: EmulatorSettings;
  /** `https://127.0.0.1:PORT` once listening. */
  baseUrl: string;
}
