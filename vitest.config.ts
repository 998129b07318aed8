import { defineConfig } from 'vitest/config';

const workspaces = {
  protocol: 'packages/protocol',
  db: 'packages/db',
  client: 'packages/client',
  testkit: 'packages/testkit',
  signaling: 'services/signaling',
};

export default defineConfig({
  test: {
    // Postgres, Redis and a migrated template database, started once per run (see packages/testkit).
    globalSetup: ['packages/testkit/src/vitest/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
    // Cluster tests spawn real pods; two cores share them with the test workers.
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: Object.entries(workspaces).map(([name, dir]) => ({
      extends: true,
      test: { name, include: [`${dir}/src/**/*.test.ts`, `${dir}/test/**/*.test.ts`] },
    })),
  },
});
