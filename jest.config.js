/**
 * Jest in native ESM mode with ts-jest (transpile only; `tsc --noEmit` type-checks separately).
 *
 * Two projects: `emulator` runs every suite against the project's emulators; `kube-apiserver`
 * (only when KUBEBUILDER_ASSETS names a folder with kube-apiserver and etcd) runs the
 * Kubernetes-facing suites again against a real kube-apiserver (test/support/envtest.ts), plus the
 * real-server-only suites in test/envtest/.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import process from 'node:process';

const assets = process.env.KUBEBUILDER_ASSETS ? resolve(process.env.KUBEBUILDER_ASSETS) : undefined;
const haveAssets = !!assets && existsSync(join(assets, 'kube-apiserver')) && existsSync(join(assets, 'etcd'));

const base = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }] },
};

/** The suites that run against both servers, and those only a real server can run. */
export const KUBE_TIER = [
  '<rootDir>/test/conformance/**/*.test.ts',
  '<rootDir>/test/integration/kube/**/*.test.ts',
  '<rootDir>/test/e2e/controller-process.test.ts',
  '<rootDir>/test/envtest/**/*.test.ts',
];

export default {
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
  projects: [
    {
      ...base,
      displayName: 'emulator',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // test/envtest/ needs a real server, except its pure helpers' tests.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/envtest/(?!support-logic\\.test\\.ts$)'],
    },
    ...(haveAssets
      ? [{ ...base, displayName: 'kube-apiserver', testMatch: KUBE_TIER, testPathIgnorePatterns: ['/node_modules/', '/emulator-[^/]*\\.test\\.ts$', '/support-logic\\.test\\.ts$'], setupFiles: ['<rootDir>/test/support/envtest-project-setup.ts'] }]
      : []),
  ],
};
