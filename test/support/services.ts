import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, leaseTopics, REPO_ROOT, uniqueId, waitFor, type TestEnvInfo } from '@imgroups/testing';

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

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((done) => child.once('exit', (code) => done(code)));
}

export async function startServices(testEnv: TestEnvInfo, extra: Record<string, string> = {}): Promise<RunningServices> {
  const id = uniqueId('svc');
  const topics = await leaseTopics(testEnv);
  const port = await freePort();
  const env: Record<string, string> = {
    REDIS_URL: testEnv.redisUrl,
    KAFKA_BROKERS: testEnv.kafkaBrokers.join(','),
    REDIS_KEY_PREFIX: id,
    EVENTS_TOPIC: topics.events,
    DLQ_TOPIC: topics.dlq,
    CONSUMER_GROUP: `${id}-projector`,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    API_HOST: '127.0.0.1',
    API_PORT: String(port),
    OPENIM_SECRET: 'e2e-secret',
    ADMIN_USER_IDS: 'imAdmin',
    LOG_LEVEL: 'warn',
    ...extra,
  };
  let output = '';
  const launch = (entry: string, name: string) => {
    const child = spawn(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['--conditions=source', join(REPO_ROOT, entry)], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => {
      output = (output + `[${name}] ${b.toString()}`).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return child;
  };
  const projector = launch('services/projector/src/main.ts', 'projector');
  const queryApi = launch('services/query-api/src/main.ts', 'query-api');
  const api = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (projector.exitCode !== null || queryApi.exitCode !== null) throw new Error(`a service exited:\n${output}`);
      return (await fetch(`${api}/healthz`)).ok;
    },
    { timeoutMs: 30_000, message: 'query API healthy' },
  );
  return {
    env,
    api,
    projector,
    queryApi,
    output: () => output,
    async stop() {
      const started = Date.now();
      projector.kill('SIGTERM');
      queryApi.kill('SIGTERM');
      const [p, q] = await Promise.all([exitOf(projector), exitOf(queryApi)]);
      return { projector: p, queryApi: q, ms: Date.now() - started };
    },
  };
}
