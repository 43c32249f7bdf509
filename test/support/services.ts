import type { ChildProcess } from 'node:child_process';
import { freePort } from '@imgroups/devenv';
import { isolatedSettings, waitFor, type TestEnvInfo } from '@imgroups/testing';
import { ENTRIES, launchService } from './launch.js';

/**
 * The two services as real processes (their main.ts, configured only by
 * environment variables, as an operator runs them), on the suite's broker and
 * Redis, with a topic pair, consumer group, key root and port of their own.
 */
export interface RunningServices {
  env: Record<string, string>;
  api: string;
  projector: ChildProcess;
  queryApi: ChildProcess;
  output(): string;
  /** SIGTERM both; resolves with their exit codes and how long they took. */
  stop(): Promise<{ projector: number | null; queryApi: number | null; ms: number }>;
}

export async function startServices(testEnv: TestEnvInfo, extra: Record<string, string> = {}): Promise<RunningServices> {
  const port = await freePort();
  const { vars: env } = await isolatedSettings(testEnv, 'svc', {
    API_HOST: '127.0.0.1',
    API_PORT: String(port),
    OPENIM_SECRET: 'e2e-secret',
    ADMIN_USER_IDS: 'imAdmin',
    ...extra,
  });
  const projectorProcess = launchService('projector', ENTRIES.projector, env);
  const queryApiProcess = launchService('query-api', ENTRIES.queryApi, env);
  const projector = projectorProcess.child;
  const queryApi = queryApiProcess.child;
  const output = () => `[projector]\n${projectorProcess.output()}\n[query-api]\n${queryApiProcess.output()}`;
  const api = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (projector.exitCode !== null || queryApi.exitCode !== null) throw new Error(`a service exited:\n${output()}`);
      return (await fetch(`${api}/healthz`)).ok;
    },
    { timeoutMs: 30_000, message: 'query API healthy' },
  );
  return {
    env,
    api,
    projector,
    queryApi,
    output,
    async stop() {
      const [p, q] = await Promise.all([projectorProcess.stop(), queryApiProcess.stop()]);
      return { projector: p.code, queryApi: q.code, ms: Math.max(p.ms, q.ms) };
    },
  };
}
