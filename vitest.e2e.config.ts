// The end-to-end suite (`npm run e2e`): scenarios against a real kube-apiserver and Argo's controller on loopback
// (hack/e2e/, docs/e2e.md). One cluster for all files, which run one after another.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/scenarios/**/*.test.ts'],
    globalSetup: ['test/e2e/support/global-cluster.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
