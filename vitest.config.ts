import { defineConfig } from 'vitest/config';

const cluster = 'services/*/test/**/*.cluster.test.ts';
const fault = 'services/*/test/fault/**/*.test.ts';
const fuzz = 'services/*/test/fuzz/**/*.test.ts';
const abuse = 'services/*/test/abuse/**/*.test.ts';

/**
 * The test tiers (see the README): each is a project, run alone with
 * `npm run test:<tier>`; `npm test` runs them all.
 */
const tiers: Record<string, { include: string[]; exclude?: string[] }> = {
  // Pure code, beside it: no database, no Redis, no process.
  unit: { include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts'] },
  // Real Postgres and Redis, nodes in the test process.
  node: { include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts'], exclude: [cluster, fault, fuzz, abuse] },
  // Three real pod processes.
  cluster: { include: [cluster] },
  // Real processes killed and frozen under chat load, on private Redis and Postgres.
  fault: { include: [fault] },
  // Generated hostile input for every event and route.
  fuzz: { include: [fuzz] },
  // Floods against a real pod while other users keep chatting.
  abuse: { include: [abuse] },
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
    projects: Object.entries(tiers).map(([name, files]) => ({
      extends: true,
      test: { name, include: files.include, exclude: ['**/node_modules/**', ...(files.exclude ?? [])] },
    })),
  },
});
