import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * `pnpm lint`: rules that catch bugs (promises nobody awaits, unsafe `any`,
 * non-exhaustive switches), typed by the one program tsconfig.typecheck.json
 * describes. No formatting rules: the code's layout is left as it is.
 */

/** Test code, as .dependency-cruiser.cjs defines it. */
const TEST_CODE = [
  '**/*.spec.ts',
  'test/**',
  'packages/testing/**',
  '**/*test-helpers.ts',
];

export default defineConfig(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.d.ts'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.typecheck.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A new event type or operation must be handled wherever its union is switched on.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Returning an un-awaited promise inside try skips its catch and finally.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      eqeqeq: ['error', 'smart'],
      'no-self-compare': 'error',
      'no-template-curly-in-string': 'error',
      // Rethrowing what a catch received is fine; it is unknown by type only.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // async without await is how handlers satisfy Promise-returning APIs
      // (kafkajs eachMessage, fastify plugins); no-floating-promises and
      // no-misused-promises catch the mistakes that matter.
      '@typescript-eslint/require-await': 'off',
      // Objects here are closures, not classes: their interface methods never
      // read `this`, so passing them around is safe.
      '@typescript-eslint/unbound-method': 'off',
      // An assertion tsc already agrees with is noise, not a bug.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    files: TEST_CODE,
    rules: {
      // Tests read JSON answers untyped and let expect() check their shape.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
