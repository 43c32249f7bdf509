import type { TestProject } from 'vitest/node';
import { startTestEnvironment } from './environment.js';
import './vitest-context.js';

/** Vitest global setup: one environment per suite run, handed to tests by `inject('testEnv')`. */
export default async function setup(project: TestProject) {
  const env = await startTestEnvironment((m) => console.log(`[${project.name}] ${m}`));
  const { stop, ...info } = env;
  project.provide('testEnv', info);
  return async () => {
    await stop();
  };
}
