/**
 * Dependency rules (`pnpm lint:deps`): layers stay apart and nothing imports
 * in a circle. Paths are relative to the repository root; workspace imports
 * (@imgroups/*) resolve to their real source files through package.json
 * "exports" and its "source" condition, as tsc and vitest resolve them.
 *
 * Test code: spec files, test/, the test kit (packages/testing), and helper
 * files named as such (test-helpers.ts, *.test-helpers.ts). eslint.config.js
 * names the same files.
 * Production code: every other file under packages/<name>/src or
 * services/<name>/src, except the test kit's and the dev environment's.
 */
const TEST_CODE = [
  '\\.spec\\.ts$',
  '^test/',
  '^packages/testing/',
  'test-helpers\\.ts$',
];
const TEST_KIT = '^packages/testing/';
const DEV_ENV = '^packages/devenv/';

const production = {
  path: '^(packages|services)/[^/]+/src/',
  pathNot: [...TEST_CODE, TEST_KIT, DEV_ENV],
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'package-imports-service',
      severity: 'error',
      comment: 'Packages are libraries the services build on: a package (packages/*) must not import a service (services/*).',
      from: { path: '^packages/' },
      to: { path: '^services/' },
    },
    {
      name: 'service-imports-service',
      severity: 'error',
      comment: 'Each service deploys on its own: a service must not import another one; what both need belongs in a package.',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'production-imports-test-kit',
      severity: 'error',
      comment:
        'Production code must not import the test kit (@imgroups/testing): it is a dev dependency, absent from a production install.',
      from: production,
      to: { path: TEST_KIT },
    },
    {
      name: 'production-imports-dev-environment',
      severity: 'error',
      comment:
        'Production code must not import the dev environment (@imgroups/devenv): it starts local infrastructure for people and tests.',
      from: production,
      to: { path: DEV_ENV },
    },
    {
      name: 'production-imports-test-code',
      severity: 'error',
      comment:
        'Production code must not import test code: specs, test/, or test helpers (e.g. @imgroups/read-model/test-helpers).',
      from: production,
      to: { path: TEST_CODE, pathNot: TEST_KIT },
    },
    {
      name: 'dev-environment-imports-test-kit',
      severity: 'error',
      comment: 'The dev environment serves `pnpm start` and the benches too: it must not pull in the test kit (the kit may use it).',
      from: { path: DEV_ENV, pathNot: TEST_CODE },
      to: { path: TEST_KIT },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules must not import each other in a circle (tests included): break the cycle by moving what both need.',
      from: {},
      to: { circular: true },
    },
    {
      // Folder level, so a package's tests count as the package: read-model's
      // specs importing the test kit while the test kit imports read-model is a
      // cycle although no single module closes it.
      name: 'no-circular-packages',
      severity: 'error',
      scope: 'folder',
      comment:
        'Workspace packages must not depend on each other in a circle, counting their tests: e.g. the test kit must not import a package whose tests import the test kit.',
      from: { path: '^((packages|services)/[^/]+|test)/' },
      to: { circular: true, pathNot: '^$1(/|$)' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file: a missing dependency in package.json, or a typo.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    // Type-only imports count: a production file that imports types from the
    // test kit still couples the two.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.typecheck.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'node', 'default'],
      mainFields: ['module', 'main', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
