import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The end-to-end scenarios need the loopback cluster: `npm run e2e` (vitest.e2e.config.ts).
    exclude: ['test/e2e/scenarios/**', 'node_modules/**'],
    globalSetup: ['test/setup/global-peers.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
