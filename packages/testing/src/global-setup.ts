import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startTestEnvironment, type TestEnvInfo } from './environment.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testEnv: TestEnvInfo;
  }
}

/** Vitest global setup: one environment per suite run, handed to tests by `inject('testEnv')`. */
export default async function setup(project: TestProject) {
  const env = await startTestEnvironment((m) => console.log(`[${project.name}] ${m}`));
  const { stop, ...info } = env;
  project.provide('testEnv', info);
  return async () => {
    await stop();
  };
}
