/**
 * `pnpm start`: the whole service on one machine with zero configuration.
 *
 * 1. Kafka: if nothing listens on the first KAFKA_BROKERS address (and it is
 *    this machine), start the embedded go-mokapi broker there, configured by
 *    asyncapi/im-group-events.yaml. It is a development mock, never production.
 * 2. Redis: if nothing listens on REDIS_URL (on this machine), start
 *    `redis-server` there when installed (in memory only), else say what to do.
 * 3. The projector and the query API, each as its own process, logs prefixed.
 *    `pnpm start:openim` (--openim) adds services/openim-bridge, reading
 *    OPENIM_TOPIC (default toRedis) on OPENIM_KAFKA_BROKERS (default: the same
 *    broker), so OpenIM-shaped records published there reach the pages.
 * Ctrl-C (or SIGTERM) stops the services first, then what this script started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { loadConfigOrExit } from '@imgroups/config';
import { connectRedis, scanAll } from '@imgroups/read-model';
import {
  isListening,
  REPO_ROOT,
  redisServerInstalled,
  startMokapi,
  startRedisServer,
  type LocalProcess,
} from '@imgroups/devenv';

const config = loadConfigOrExit(process.env, 'start');
const withOpenIM = process.argv.includes('--openim');
const say = (msg: string) => console.log(`[start] ${msg}`);
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0']);
const started: LocalProcess[] = [];
let embeddedBroker = false;
let serviceEnv: Record<string, string> = {};

async function ensureKafka() {
  const [host = '', portText = ''] = (config.KAFKA_BROKERS[0] ?? '').split(':');
  const port = Number(portText);
  if (await isListening(host, port)) return say(`Kafka: using the broker at ${host}:${port}`);
  if (!LOCAL_HOSTS.has(host)) fail(`Kafka: nothing answers at ${host}:${port} (KAFKA_BROKERS)`);
  say(`Kafka: nothing on ${host}:${port}; starting the embedded go-mokapi broker (development only)`);
  started.push(await startMokapi({ port }));
  embeddedBroker = true;
  if (config.EVENTS_TOPIC !== 'im.group.events' || config.DLQ_TOPIC !== 'im.group.events.dlq') {
    say(`warning: the embedded broker declares im.group.events and im.group.events.dlq only (asyncapi/im-group-events.yaml)`);
  }
}

async function ensureRedis() {
  const url = new URL(config.REDIS_URL);
  const host = url.hostname || '127.0.0.1';
  const port = Number(url.port || 6379);
  if (await isListening(host, port)) return say(`Redis: using ${host}:${port}`);
  if (!LOCAL_HOSTS.has(host)) fail(`Redis: nothing answers at ${host}:${port} (REDIS_URL)`);
  if (!redisServerInstalled()) {
    fail(
      `Redis: nothing on ${host}:${port} and redis-server is not installed.\n` +
        `  Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),\n` +
        `  or run Redis in Docker: docker compose up -d redis`,
    );
  }
  say(`Redis: nothing on ${host}:${port}; starting redis-server there (in memory, no persistence)`);
  started.push(await startRedisServer({ port, host: host === 'localhost' ? '127.0.0.1' : host }));
}

function fail(message: string): never {
  console.error(`[start] ${message}`);
  void stopStarted().then(() => process.exit(1));
  throw new Error(message);
}

async function stopStarted() {
  await Promise.allSettled(started.reverse().map((p) => p.stop()));
}

const services: { name: string; child: ChildProcess }[] = [];

function prefixLines(name: string, stream: NodeJS.ReadableStream, out: NodeJS.WritableStream) {
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) out.write(`[${name}] ${line}\n`);
  });
}

function startService(name: string, entry: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', join(REPO_ROOT, entry)], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_FORMAT: process.env.LOG_FORMAT || 'pretty', ...serviceEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prefixLines(name, child.stdout!, process.stdout);
  prefixLines(name, child.stderr!, process.stderr);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? `code ${code}`}); stopping everything`);
      void stop(1);
    }
  });
  services.push({ name, child });
}

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await Promise.all(
    services.map(
      ({ child }) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    ),
  );
  await stopStarted();
  say('stopped');
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

/**
 * The embedded broker keeps its messages in memory: every start is a new,
 * empty stream whose offsets begin at 0 again. A read model built from an
 * earlier one would take the new events for redeliveries (its guards compare
 * offsets), so with the embedded broker the services use their own key root,
 * `<REDIS_KEY_PREFIX>-dev`, cleared at each start. A real broker keeps its
 * stream, and the read model with it.
 */
async function freshDevKeyspace(): Promise<Record<string, string>> {
  if (!embeddedBroker) return {};
  const root = `${config.REDIS_KEY_PREFIX}-dev`;
  const redis = connectRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES });
  let removed = 0;
  try {
    // Every master of a Redis Cluster; one UNLINK per key (a node's keys are in many slots).
    await scanAll(redis, `${root}:*`, 1000, async (keys, node) => {
      for (const [err, n] of (await node.pipeline(keys.map((k) => ['unlink', k])).exec()) ?? []) {
        if (err) throw err;
        removed += Number(n);
      }
    });
  } finally {
    redis.disconnect();
  }
  say(`Redis: the embedded broker starts empty, so the read model does too: key root "${root}" (${removed} old keys removed)`);
  return { REDIS_KEY_PREFIX: root };
}

await ensureKafka();
await ensureRedis();
serviceEnv = { ...serviceEnv, ...(await freshDevKeyspace()) };
startService('projector', 'services/projector/src/main.ts');
startService('query-api', 'services/query-api/src/main.ts');
if (withOpenIM) {
  // The embedded broker starts empty, so the bridge reads its toRedis from the beginning.
  if (embeddedBroker) serviceEnv = { ...serviceEnv, OPENIM_FROM_BEGINNING: process.env.OPENIM_FROM_BEGINNING || 'true' };
  startService('openim-bridge', 'services/openim-bridge/src/main.ts');
  say(
    `openim-bridge: ${config.OPENIM_TOPIC} on ${config.OPENIM_KAFKA_BROKERS.join(',')} -> ${config.EVENTS_TOPIC}; ` +
      (config.OPENIM_API_URL ? `1501 backfill from ${config.OPENIM_API_URL}` : 'OPENIM_API_URL unset: a created group gets its owner only') +
      ' — `pnpm openim:sample` publishes OpenIM-shaped traffic there',
  );
}
say(`query API on http://127.0.0.1:${config.API_PORT} — run \`pnpm demo\` in another terminal, then the curl in README.md`);
