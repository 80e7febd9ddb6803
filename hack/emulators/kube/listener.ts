/**
 * One TCP port that speaks both plain HTTP (client-node with `skipTLSVerify`) and HTTPS (kubectl:
 * clientcmd only sends bearer tokens over TLS). The first byte of each connection decides: 0x16
 * is a TLS handshake.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/** A PEM key pair for the HTTPS side. */
export interface ServingCert {
  key: string;
  cert: string;
}

/** The listening port and how to stop it. */
export interface DualListener {
  port: number;
  close(): Promise<void>;
}

/** A self-signed serving certificate for `host` (also valid for localhost/127.0.0.1), from the `selfsigned` package. */
export async function generateServingCert(host: string): Promise<ServingCert> {
  const { generate } = await import('selfsigned');
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] = [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }];
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host) && host !== '127.0.0.1') altNames.push({ type: 7, ip: host });
  else if (!/^\d/.test(host) && host !== 'localhost') altNames.push({ type: 2, value: host });
  const pems = await generate([{ name: 'commonName', value: 'kube-emulator' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/** Listens on `host:port` with both protocols feeding the same request handler. */
export async function listenDual(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host: string,
  port: number,
  tls: ServingCert | undefined,
  onConnection: (protocol: 'http' | 'https') => void = () => undefined,
): Promise<DualListener> {
  const http = createHttpServer({ keepAliveTimeout: 60_000 }, handler);
  const https = tls ? createHttpsServer({ key: tls.key, cert: tls.cert, keepAliveTimeout: 60_000 }, handler) : undefined;
  const sockets = new Set<Socket>();
  const net = createNetServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) {
        socket.destroy();
        return;
      }
      socket.unshift(first);
      const secure = first[0] === 0x16 && https !== undefined;
      onConnection(secure ? 'https' : 'http');
      (secure ? https : http).emit('connection', socket);
      socket.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(port, host, () => resolve());
  });
  return {
    port: (net.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((resolve) => {
        net.close(() => resolve());
        http.closeAllConnections();
        https?.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}
