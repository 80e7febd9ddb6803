/**
 * TLS material for the emulator. By default the server certificate is issued at start from the
 * committed TEST-ONLY CA in `testdata/` (which jest trusts via NODE_EXTRA_CA_CERTS); `generate`
 * makes a fresh CA instead. Certificates name only loopback (127.0.0.1, ::1, localhost).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';

/** CA and server certificate/key in PEM. */
export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Path of the committed test-only CA certificate (source tree, also valid from `dist/`). */
export function testCaPaths(): { cert: string; key: string } {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // From dist/hack/emulators/azure/ go back to the source tree's testdata folder.
  const base = here.includes('/dist/hack/') ? here.replace('/dist/hack/', '/hack/') : here;
  return { cert: `${base}testdata/test-ca.pem`, key: `${base}testdata/test-ca-key.pem` };
}

async function freshCa(): Promise<{ cert: string; key: string }> {
  const notBefore = new Date(Date.now() - 60_000);
  const ca = await generate([{ name: 'commonName', value: 'mic-ts azure emulator generated TEST-ONLY CA' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: new Date(notBefore.getTime() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: ca.cert, key: ca.private };
}

/** Loads or generates the CA and issues a loopback server certificate from it. */
export async function createTlsMaterial(ca: 'test' | 'generate'): Promise<TlsMaterial> {
  let caPair: { cert: string; key: string };
  if (ca === 'generate') {
    caPair = await freshCa();
  } else {
    const paths = testCaPaths();
    caPair = { cert: await readFile(paths.cert, 'utf8'), key: await readFile(paths.key, 'utf8') };
  }
  const notBefore = new Date(Date.now() - 60_000);
  const server = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: new Date(notBefore.getTime() + 30 * 24 * 3600 * 1000),
    ca: { cert: caPair.cert, key: caPair.key },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  return { caPem: caPair.cert, certPem: server.cert, keyPem: server.private };
}
