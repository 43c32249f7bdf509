import { defineConfig } from 'vitest/config';

/**
 * Three suites, named by kind (STYLE.md): unit (pure code, no I/O), int (real
 * Redis and/or broker), e2e (broker + Redis + both services). int and e2e
 * share one test environment per run, started by packages/testing's global
 * setup: containers where a runtime answers, local processes otherwise.
 */
const conditions = ['source'];
const resolve = { conditions };
const ssr = { resolve: { conditions, externalConditions: conditions } };
const globalSetup = ['packages/testing/src/global-setup.ts'];

export default defineConfig({
  resolve,
  ssr,
  test: {
    projects: [
      {
        resolve,
        ssr,
        test: { name: 'unit', include: ['{packages,services,test}/**/*.unit.spec.ts'] },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'int',
          include: ['{packages,services,test}/**/*.int.spec.ts'],
          globalSetup,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        resolve,
        ssr,
        test: {
          // Crashes, rebalances, outages: long, CPU-heavy, one file at a time.
          name: 'reliability',
          include: ['test/reliability/**/*.rel.spec.ts'],
          globalSetup,
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 120_000,
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'e2e',
          include: ['{packages,services,test}/**/*.e2e.spec.ts'],
          globalSetup,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
