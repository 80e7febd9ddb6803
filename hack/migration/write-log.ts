/**
 * Attribution of writes to the actor that sent them, for the "never two leaders writing at once"
 * invariant: a per-actor HTTP pass-through in front of the kube emulator (every mutating request
 * except the leader locks and Events), and a CloudProvider wrapper (every identity PATCH). Each
 * write is recorded with the interval from send to answer.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudProvider, Target, TargetIdentities, UpdateResult } from '../../controller/cloud/provider.js';

/** One write as sent by one actor. */
export interface AttributedWrite {
  actor: string;
  /** `kube` (API server) or `arm` (identity PATCH). */
  plane: 'kube' | 'arm';
  /** e.g. `POST /apis/aadpodidentity.k8s.io/v1/namespaces/default/azureassignedidentities`. */
  what: string;
  /** Epoch ms when sent / when answered. */
  start: number;
  end: number;
  /** HTTP status (kube) or 200/0 (arm: success/failure). */
  status: number;
}

/** Every attributed write of a run. */
export class WriteLog {
  readonly writes: AttributedWrite[] = [];

  record(w: AttributedWrite): void {
    this.writes.push(w);
  }
}

/** Paths whose writes are election or reporting traffic, not controller output. */
function isBookkeeping(path: string): boolean {
  return /\/(endpoints|leases|events)(\/|$)/.test(path);
}

/** A per-actor proxy in front of the kube emulator. */
export class KubeWriteTap {
  readonly url: string;
  readonly #server: Server;

  private constructor(url: string, server: Server) {
    this.url = url;
    this.#server = server;
  }

  /** Listens on 127.0.0.1 and forwards to `upstream` (the emulator's http URL). */
  static async start(actor: string, upstream: string, log: WriteLog): Promise<KubeWriteTap> {
    const target = new URL(upstream);
    const server = createServer((req, res) => {
      const start = Date.now();
      const method = req.method ?? 'GET';
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const out = request(
        { host: target.hostname, port: target.port, method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', () => {
            if (method !== 'GET' && !isBookkeeping(path)) log.record({ actor, plane: 'kube', what: `${method} ${path}`, start, end: Date.now(), status: answer.statusCode ?? 0 });
          });
        },
      );
      out.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      res.on('close', () => out.destroy());
      req.pipe(out);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return new KubeWriteTap(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, server);
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Wraps a CloudProvider so each identity PATCH is recorded for `actor`. */
export function recordingCloud(actor: string, inner: CloudProvider, log: WriteLog): CloudProvider {
  return {
    getIdentities: (target: Target, signal?: AbortSignal): Promise<TargetIdentities> => inner.getIdentities(target, signal),
    async updateIdentities(target, add, remove, current, signal): Promise<UpdateResult> {
      const start = Date.now();
      let status = 0;
      try {
        const result = await inner.updateIdentities(target, add, remove, current, signal);
        status = 200;
        return result;
      } finally {
        log.record({ actor, plane: 'arm', what: `PATCH ${target.kind}/${target.name} +${add.length} -${remove.length}`, start, end: Date.now(), status });
      }
    },
  };
}

/** A run of consecutive writes by one actor. */
export interface WriterRun {
  actor: string;
  start: number;
  end: number;
  writes: number;
}

/** Writes (sorted by start) grouped into runs of one actor. */
export function writerRuns(writes: readonly AttributedWrite[]): WriterRun[] {
  const sorted = [...writes].sort((a, b) => a.start - b.start);
  const runs: WriterRun[] = [];
  for (const w of sorted) {
    const last = runs[runs.length - 1];
    if (last && last.actor === w.actor) {
      last.end = Math.max(last.end, w.end);
      last.writes++;
    } else runs.push({ actor: w.actor, start: w.start, end: w.end, writes: 1 });
  }
  return runs;
}

/**
 * "Never two leaders writing at once": every actor's writes fall in leadership terms, and the write
 * windows of different actors never overlap. `terms` are each actor's [start, end] of leadership
 * (end = when it stopped or was stopped; Infinity while still leading).
 */
export function concurrentWriterViolations(writes: readonly AttributedWrite[], terms: readonly { actor: string; start: number; end: number }[]): string[] {
  const problems: string[] = [];
  for (const w of writes) {
    const inTerm = terms.some((t) => t.actor === w.actor && w.start >= t.start && w.start <= t.end);
    if (!inTerm) problems.push(`${w.actor} wrote ${w.what} at ${new Date(w.start).toISOString()} outside its leadership`);
  }
  const runs = writerRuns(writes);
  for (let i = 1; i < runs.length; i++) {
    const prev = runs[i - 1]!;
    const next = runs[i]!;
    // Two actors' write windows overlap: one started before the other's last answer came back.
    if (next.start < prev.end) problems.push(`${next.actor} wrote at ${new Date(next.start).toISOString()} while a write of ${prev.actor} was in flight (until ${new Date(prev.end).toISOString()})`);
  }
  // An actor that wrote, was followed by another, and wrote again must have been leader anew in between.
  const seen = new Map<string, WriterRun>();
  for (const run of runs) {
    const before = seen.get(run.actor);
    if (before) {
      const newTerm = terms.some((t) => t.actor === run.actor && t.start > before.end && t.start <= run.start);
      const interleaved = runs.some((r) => r.actor !== run.actor && r.start > before.end && r.start < run.start);
      if (interleaved && !newTerm) problems.push(`${run.actor} resumed writing at ${new Date(run.start).toISOString()} after another actor wrote, without a new leadership term`);
    }
    seen.set(run.actor, run);
  }
  return problems;
}
