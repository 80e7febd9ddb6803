/**
 * A wire tap in front of the Azure emulator for controller child processes: an HTTPS pass-through
 * (server certificate from the same test-only CA) that records every ARM PATCH with its identity
 * delta, the lease holder at send time and the answer's status. One tap per replica, so every write
 * is attributed to the process that sent it. A hook runs after the emulator accepted a PATCH and
 * before the answer is relayed, which is where the failover measurement kills the leader.
 */
import { Agent, createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTlsMaterial } from '../emulators/azure/tls.js';

/** One ARM PATCH seen by a tap. */
export interface TappedWrite {
  replica: string;
  /** Epoch ms when the tap received it (the send time, as far as Azure is concerned). */
  at: number;
  /** Request path (no query). */
  path: string;
  /** Identities the PATCH adds / removes (lower-cased). */
  add: string[];
  remove: string[];
  /** Lease holder and expiry (epoch ms) when it was sent. */
  holder: string | undefined;
  leaseExpiresAt: number;
  /** HTTP status answered by the emulator (0: no answer). */
  status: number;
  /** Whether the answer reached the replica (false when the hook swallowed it). */
  relayed: boolean;
}

/** What the hook may decide about an accepted PATCH. */
export type AfterWriteDecision = 'relay' | 'swallow';

/** Options of {@link ArmTap.start}. */
export interface ArmTapOptions {
  /** Replica the tap serves. */
  replica: string;
  /** `https://127.0.0.1:PORT` of the emulator. */
  upstream: string;
  /** CA that issued the emulator's certificate (PEM). */
  caPem: string;
  /** Current lease holder and expiry (read at send time). */
  lease: () => { holder: string | undefined; expiresAt: number };
  /** Called with every PATCH once the emulator answered, before relaying; `swallow` never answers the replica. */
  afterWrite?: (w: TappedWrite) => AfterWriteDecision;
}

/** See module comment. */
export class ArmTap {
  readonly url: string;
  readonly writes: TappedWrite[] = [];
  readonly #server: Server;
  readonly #agent: Agent;

  private constructor(url: string, server: Server, agent: Agent) {
    this.url = url;
    this.#server = server;
    this.#agent = agent;
  }

  /** Listens on 127.0.0.1, any free port. */
  static async start(o: ArmTapOptions): Promise<ArmTap> {
    const tls = await createTlsMaterial('test');
    const agent = new Agent({ keepAlive: true, ca: o.caPem });
    const upstream = new URL(o.upstream);
    const holder: { tap?: ArmTap } = {};
    const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
      void forward(req, res, upstream, agent, o, holder.tap!.writes);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const tap = new ArmTap(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, server, agent);
    holder.tap = tap;
    return tap;
  }

  /** Closes the listener and every connection. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    this.#agent.destroy();
  }
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function forward(req: IncomingMessage, res: ServerResponse, upstream: URL, agent: Agent, o: ArmTapOptions, writes: TappedWrite[]): Promise<void> {
  try {
    const body = await readAll(req);
    let write: TappedWrite | undefined;
    if (req.method === 'PATCH') {
      const { holder, expiresAt } = o.lease();
      const url = new URL(req.url ?? '/', upstream);
      write = { replica: o.replica, at: Date.now(), path: url.pathname, ...identityDelta(body.toString('utf8')), holder, leaseExpiresAt: expiresAt, status: 0, relayed: false };
      writes.push(write);
    }
    const headers = { ...req.headers, host: upstream.host };
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, resolve);
      up.once('error', reject);
      up.end(body);
    });
    const payload = await readAll(answer);
    if (write) {
      write.status = answer.statusCode ?? 0;
      if ((o.afterWrite?.(write) ?? 'relay') === 'swallow') return; // the replica never hears back
      write.relayed = true;
    }
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    res.end(payload);
  } catch {
    res.destroy();
  }
}

/** Adds and removes of a PATCH body `{identity: {userAssignedIdentities: {id: {} | null}}}`. */
export function identityDelta(body: string): { add: string[]; remove: string[] } {
  const out = { add: [] as string[], remove: [] as string[] };
  try {
    const parsed = JSON.parse(body) as { identity?: { userAssignedIdentities?: Record<string, unknown> } };
    for (const [id, v] of Object.entries(parsed.identity?.userAssignedIdentities ?? {})) (v === null ? out.remove : out.add).push(id.toLowerCase());
  } catch {
    // not JSON: nothing to record
  }
  return out;
}
