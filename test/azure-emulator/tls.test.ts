/** TLS: the default certificate chains to the committed test CA; `ca: 'generate'` makes a fresh CA. */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { startAzureEmulator, testCaPaths } from '../../hack/emulators/azure/index.js';

function getStatus(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

describe('Azure emulator TLS', () => {
  it('serves a loopback certificate issued by the committed test-only CA by default', async () => {
    const emu = await startAzureEmulator();
    try {
      expect(emu.caPem).toBe(readFileSync(testCaPaths().cert, 'utf8'));
      expect(await getStatus(`${emu.armUrl}/_emulator/state`, emu.caPem)).toBe(200);
    } finally {
      await emu.stop();
    }
  });

  it('generates a fresh CA on request, which clients must trust explicitly', async () => {
    const emu = await startAzureEmulator({ ca: 'generate' });
    try {
      expect(emu.caPem).not.toBe(readFileSync(testCaPaths().cert, 'utf8'));
      expect(await getStatus(`${emu.armUrl}/_emulator/state`, emu.caPem)).toBe(200);
      await expect(getStatus(`${emu.armUrl}/_emulator/state`, readFileSync(testCaPaths().cert, 'utf8'))).rejects.toThrow();
    } finally {
      await emu.stop();
    }
  });

  it('refuses non-loopback listen addresses', async () => {
    await expect(startAzureEmulator({ host: '0.0.0.0' })).rejects.toThrow(RangeError);
  });
});
