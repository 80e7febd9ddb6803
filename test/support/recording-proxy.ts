/**
 * A recording reverse proxy on loopback for Kubernetes API traffic: clients talk plain HTTP to it,
 * it forwards every request (streams included, e.g. watches) to an HTTPS API server trusting `caPem`,
 * and records method, path, query and the status the server answered. Used to learn exactly which
 * API calls a controller process makes (RBAC comparison).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

/** One proxied request. */
export interface RecordedCall {
  method: string;
  path: string;
  query: URLSearchParams;
  status: number;
}

/** A running proxy. */
export interface RecordingProxy {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  calls: RecordedCall[];
  stop(): Promise<void>;
}

/** Starts a proxy to `upstream` (an `https://` URL). */
export async function startRecordingProxy(upstream: string, caPem: string): Promise<RecordingProxy> {
  const calls: RecordedCall[] = [];
  const target = new URL(upstream);
  const server: Server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const call: RecordedCall = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, status: 0 };
    calls.push(call);
    const headers = { ...req.headers, host: target.host };
    const out = httpsRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, ca: caPem }, (up) => {
      call.status = up.statusCode ?? 0;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      res.on('close', () => up.destroy());
    });
    out.on('error', (err) => {
      call.status = call.status || 502;
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(String(err));
    });
    req.pipe(out);
    res.on('close', () => out.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
