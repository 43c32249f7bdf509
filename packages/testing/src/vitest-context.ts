import type {} from 'vitest';
import type { TestEnvInfo } from './environment.js';

/** What the global setup hands every int and e2e test: `inject('testEnv')`. */
declare module 'vitest' {
  export interface ProvidedContext {
    testEnv: TestEnvInfo;
  }
}
