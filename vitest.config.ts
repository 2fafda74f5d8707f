import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run the TypeScript sources of every @stratum package (see each package's exports map),
    // so `npm test` never depends on a stale dist/.
    conditions: ['stratum-source'],
  },
  ssr: { resolve: { conditions: ['stratum-source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'native/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/bench/**'],
    pool: 'forks',
    // Files run one at a time: the kernel tests share one host, and the per-test leak check
    // (useLeakCheck) must not blame one file for what another creates meanwhile.
    fileParallelism: false,
    globalSetup: ['packages/testing/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    
  },
});
